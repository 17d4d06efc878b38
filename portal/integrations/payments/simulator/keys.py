"""The simulated providers' key material, generated once per key directory.

WeChat Pay: the merchant's API key pair and certificate serial number (in reality the merchant
makes them and uploads the certificate to WeChat Pay), WeChat Pay's platform key pair with its
public key ID (``PUB_KEY_ID_…``: the "微信支付公钥" mode), and the merchant's APIv3 key (32 ASCII
characters). Alipay: the application's key pair (the merchant uploads the public key) and Alipay's
key pair. Each simulator reads both halves; outside production the merchant's settings default to
the merchant halves in the same directory (``conf.py``), so a fresh clone pays with no set-up.

The directory is ``settings.PAYMENT_SIMULATOR_KEY_DIR`` (``var/payments-sim`` by default; the test
suite uses a temporary directory). Generation is guarded by a file lock, so the web server and
worker processes starting together end up with one set.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import string
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

FILE = "keys.json"


def _pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def _generate() -> dict[str, str]:
    merchant_private, merchant_public = _pair()
    platform_private, platform_public = _pair()
    app_private, app_public = _pair()
    alipay_private, alipay_public = _pair()
    alphabet = string.ascii_letters + string.digits
    return {
        "wechatpay_merchant_private_key": merchant_private,
        "wechatpay_merchant_public_key": merchant_public,
        "wechatpay_merchant_serial_no": secrets.token_hex(20).upper(),
        "wechatpay_platform_private_key": platform_private,
        "wechatpay_platform_public_key": platform_public,
        "wechatpay_public_key_id": "PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(32)),
        "wechatpay_apiv3_key": "".join(secrets.choice(alphabet) for _ in range(32)),
        "alipay_app_private_key": app_private,
        "alipay_app_public_key": app_public,
        "alipay_private_key": alipay_private,
        "alipay_public_key": alipay_public,
    }


@lru_cache(maxsize=4)
def _load(directory: str) -> dict[str, str]:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    target = path / FILE
    if target.exists():
        return json.loads(target.read_text())
    with open(path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            temporary = path / f".{FILE}.{os.getpid()}"
            temporary.write_text(json.dumps(_generate()))
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
    return json.loads(target.read_text())


def material() -> dict[str, str]:
    """Every key of both simulated providers (generated on first use)."""
    return _load(str(settings.PAYMENT_SIMULATOR_KEY_DIR))
