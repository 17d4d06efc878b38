"""Settings of the payment channels, read at call time from ``django.conf.settings``.

Outside production an empty value falls back to the payment simulator: its base URL under
``SIMULATOR_BASE_URL`` and its generated key material (``simulator/keys.py``). In production
nothing falls back; :func:`production_errors` names every setting that is missing, too weak or
pointing at a simulator, and the portal refuses to start while the list is not empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from django.conf import settings

MIN_RSA_BITS = 2048


def _simulator(key: str) -> str:
    if settings.PRODUCTION:
        return ""
    from portal.integrations.payments.simulator import keys

    return keys.material()[key]


def _value(name: str, simulated_key: str | None = None, default: str = "") -> str:
    value = getattr(settings, name, "") or ""
    if value or settings.PRODUCTION:
        return value
    return _simulator(simulated_key) if simulated_key else default


def _base_url(name: str, path: str) -> str:
    value = getattr(settings, name, "") or ""
    if value or settings.PRODUCTION:
        return value.rstrip("/")
    return f"{settings.SIMULATOR_BASE_URL.rstrip('/')}/payments/{path}"


@dataclass(frozen=True)
class WeChatPayConf:
    base_url: str
    mchid: str
    appid: str
    serial_no: str
    private_key: str
    apiv3_key: str
    public_key: str
    public_key_id: str
    plan_id: str
    timeout: float


@dataclass(frozen=True)
class AlipayConf:
    gateway: str
    app_id: str
    app_private_key: str
    alipay_public_key: str
    agreement_product_code: str
    timeout: float


def wechatpay() -> WeChatPayConf:
    return WeChatPayConf(
        base_url=_base_url("WECHATPAY_BASE_URL", "wechatpay"),
        mchid=_value("WECHATPAY_MCHID", default="1900000109"),
        appid=_value("WECHATPAY_APPID", default="wxd678efh567hg6787"),
        serial_no=_value("WECHATPAY_MERCHANT_SERIAL_NO", "wechatpay_merchant_serial_no"),
        private_key=_value("WECHATPAY_PRIVATE_KEY", "wechatpay_merchant_private_key"),
        apiv3_key=_value("WECHATPAY_APIV3_KEY", "wechatpay_apiv3_key"),
        public_key=_value("WECHATPAY_PUBLIC_KEY", "wechatpay_platform_public_key"),
        public_key_id=_value("WECHATPAY_PUBLIC_KEY_ID", "wechatpay_public_key_id"),
        plan_id=_value("WECHATPAY_PAPAY_PLAN_ID", default="12535"),
        timeout=settings.PAYMENT_TIMEOUT_SECONDS,
    )


def alipay() -> AlipayConf:
    return AlipayConf(
        gateway=_base_url("ALIPAY_BASE_URL", "alipay/gateway.do"),
        app_id=_value("ALIPAY_APP_ID", default="2021000000000001"),
        app_private_key=_value("ALIPAY_APP_PRIVATE_KEY", "alipay_app_private_key"),
        alipay_public_key=_value("ALIPAY_PUBLIC_KEY", "alipay_public_key"),
        agreement_product_code=settings.ALIPAY_AGREEMENT_PERSONAL_PRODUCT_CODE,
        timeout=settings.PAYMENT_TIMEOUT_SECONDS,
    )


def _rsa_problem(name: str, pem: str, private: bool) -> str | None:
    try:
        key = (load_pem_private_key(pem.encode(), password=None) if private else load_pem_public_key(pem.encode()))
    except (ValueError, TypeError):
        return f"{name} is not a PEM {'private' if private else 'public'} key"
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"{name} is not an RSA key"
    if key.key_size < MIN_RSA_BITS:
        return f"{name} is a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} bits are required"
    return None


def _url_problem(name: str, url: str) -> str | None:
    if not url:
        return f"{name} is not set"
    parts = urlsplit(url)
    simulator = settings.SIMULATOR_BASE_URL
    if "/sim/" in f"{parts.path}/" or (simulator and url.startswith(simulator.rstrip("/"))):
        return f"{name} points at a simulator ({url})"
    if parts.scheme != "https":
        return f"{name} must be an https URL ({url})"
    if parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return f"{name} points at this machine ({url})"
    return None


def production_errors() -> list[str]:
    """One sentence per payment setting that production cannot run with."""
    errors = []
    for name in ("WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_MERCHANT_SERIAL_NO", "WECHATPAY_PUBLIC_KEY_ID",
                 "WECHATPAY_PAPAY_PLAN_ID", "ALIPAY_APP_ID"):
        if not getattr(settings, name, ""):
            errors.append(f"{name} is not set")
    for name in ("WECHATPAY_BASE_URL", "ALIPAY_BASE_URL"):
        problem = _url_problem(name, getattr(settings, name, ""))
        if problem:
            errors.append(problem)
    apiv3 = settings.WECHATPAY_APIV3_KEY
    if not apiv3:
        errors.append("WECHATPAY_APIV3_KEY is not set")
    elif len(apiv3.encode()) != 32:
        errors.append("WECHATPAY_APIV3_KEY must be the 32-byte APIv3 key set in the merchant platform")
    for name, private in (("WECHATPAY_PRIVATE_KEY", True), ("WECHATPAY_PUBLIC_KEY", False),
                          ("ALIPAY_APP_PRIVATE_KEY", True), ("ALIPAY_PUBLIC_KEY", False)):
        pem = getattr(settings, name, "")
        if not pem:
            errors.append(f"{name} (or {name}_FILE) is not set")
            continue
        problem = _rsa_problem(name, pem, private)
        if problem:
            errors.append(problem)
    if settings.PUBLIC_BASE_URL.startswith("http://"):
        errors.append("PUBLIC_BASE_URL must be https: WeChat Pay and Alipay send notifications to it")
    return errors
