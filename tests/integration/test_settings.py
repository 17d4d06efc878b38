"""Settings and set-up as an operator meets them: production checks, refused databases, clear failures."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def run(args, **env):
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env.update({"PYTHONWARNINGS": "ignore", **env})
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=120)


def _pem(bits: int, private: bool) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if private:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


PAYMENT_KEYS = {"WECHATPAY_PRIVATE_KEY": _pem(2048, True), "WECHATPAY_PUBLIC_KEY": _pem(2048, False),
                "ALIPAY_APP_PRIVATE_KEY": _pem(2048, True), "ALIPAY_PUBLIC_KEY": _pem(2048, False)}


def _other_counterparts() -> dict[str, str]:
    """SMS and identity verification: production refuses to start without them as well."""
    from portal.integrations.sms.templates import TEMPLATES

    return {
        "SMS_SECRET_ID": "AKIDsmsproductiontest000000000000000", "SMS_SECRET_KEY": "s" * 32, "SMS_SDK_APP_ID": "1400123456",
        "SMS_TEMPLATE_IDS": ",".join(f"{name}:{1000000 + n}" for n, name in enumerate(TEMPLATES)),
        "IDENTITY_SECRET_ID": "AKIDfaceidproductiontest0000000000000", "IDENTITY_SECRET_KEY": "f" * 32,
    }


OTHER_COUNTERPARTS = _other_counterparts()


def _signing() -> dict[str, str]:
    """The e-policy's signing certificate (issued by a CA, not the development one) and code key."""
    import tempfile
    from pathlib import Path

    from portal.integrations.signing import dev

    directory = Path(tempfile.mkdtemp(prefix="epolicy-signing-"))
    dev._generate(directory, unit="电子保单签章")
    return {"EPOLICY_SIGNING_CERT_FILE": str(directory / "signing.pem"),
            "EPOLICY_SIGNING_KEY_FILE": str(directory / "signing-key.pem"),
            "EPOLICY_SIGNING_CHAIN_FILE": str(directory / "ca.pem"), "EPOLICY_CODE_KEY": "c" * 40}


SIGNING = _signing()


def _hsa() -> dict[str, str]:
    """The medical-insurance platform: an SM2 key pair of the insurer and the platform's public key."""
    from portal.integrations.hsa import sm

    return {"HSA_SERVICE_URL": "https://fsi.example.gov.cn/fsi/api/rsfComIfsService/callService",
            "HSA_FIXMEDINS_CODE": "H62060000001", "HSA_FIXMEDINS_NAME": "示例保险公司",
            "HSA_MDTRTAREA_ADMVS": "620600", "HSA_RECER_SYS_CODE": "HSA_WW",
            "HSA_PRIVATE_KEY": sm.new_private_key(), "HSA_PLATFORM_PUBLIC_KEY": sm.public_key_of(sm.new_private_key())}


HSA = _hsa()


def _database_url() -> str:
    """The suite's database as a URL (the embedded server's socket when DATABASE_URL is unset)."""
    from urllib.parse import quote

    db = settings.DATABASES["default"]
    host = db.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{db.get('USER') or 'postgres'}@{quote(host, safe='')}/{db['NAME']}"
    return f"postgresql://{db.get('USER') or 'postgres'}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def production_env(**extra):
    return {
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": "blind-index-key-for-the-test-only",
        "ALLOWED_HOSTS": "hmb.example.gov.cn",
        "PUBLIC_BASE_URL": "https://hmb.example.gov.cn",
        # Production names its servers; the suite's own (embedded ones in a clean clone) are used.
        "DATABASE_URL": os.environ.get("DATABASE_URL") or _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or settings.REDIS_URL.split("?")[0],
        "WECHATPAY_BASE_URL": "https://api.mch.weixin.qq.com",
        "WECHATPAY_MCHID": "1900009191",
        "WECHATPAY_APPID": "wxd678efh567hg6787",
        "WECHATPAY_MERCHANT_SERIAL_NO": "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
        "WECHATPAY_APIV3_KEY": "a12d3924fd499edac8a5efc1234567ab",
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114232134912410000000000000",
        "WECHATPAY_PAPAY_PLAN_ID": "12535",
        "ALIPAY_BASE_URL": "https://openapi.alipay.com/gateway.do",
        "ALIPAY_APP_ID": "2021000000000001",
        **HSA,
        **PAYMENT_KEYS,
        **OTHER_COUNTERPARTS,
        **SIGNING,
        **extra,
    }


def test_production_mode_passes_the_deploy_check_without_warnings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_its_secrets():
    env = production_env()
    env["SECRET_KEY"] = ""
    result = run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr and "Traceback" not in result.stderr


def test_sqlite_is_refused():
    result = run(["manage.py", "check"], DATABASE_URL="sqlite:///tmp/portal.db")
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_database_is_named_with_the_reason():
    result = run(["-m", "portal.devservers", "check"], DATABASE_URL="postgresql://postgres@127.0.0.1:1/portal")
    assert result.returncode == 1
    assert "外部 PostgreSQL（DATABASE_URL）无法连接" in result.stderr


def test_an_unreachable_redis_is_named_with_the_reason():
    result = run(["-m", "portal.devservers", "check"], REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "外部 Redis（REDIS_URL）无法连接" in result.stderr


def test_production_refuses_to_start_on_a_payment_simulator_missing_or_short_keys(tmp_path):
    short = tmp_path / "short.pem"
    short.write_text(_pem(1024, True))
    env = production_env(WECHATPAY_BASE_URL="http://127.0.0.1:8000/sim/payments/wechatpay", WECHATPAY_APIV3_KEY="short",
                         ALIPAY_APP_PRIVATE_KEY="", ALIPAY_APP_PRIVATE_KEY_FILE=str(short), ALIPAY_PUBLIC_KEY="")
    result = run(["manage.py", "check"], **env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "WECHATPAY_BASE_URL points at a simulator" in result.stderr
    assert "WECHATPAY_APIV3_KEY must be the 32-byte APIv3 key" in result.stderr
    assert "ALIPAY_APP_PRIVATE_KEY is a 1024-bit RSA key" in result.stderr
    assert "ALIPAY_PUBLIC_KEY (or ALIPAY_PUBLIC_KEY_FILE) is not set" in result.stderr
