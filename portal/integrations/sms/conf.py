"""Settings of the SMS gateway (Tencent Cloud SMS), read at call time from ``django.conf.settings``.

Outside production an empty endpoint means the SMS simulator, reached over HTTP at
``SIMULATOR_BASE_URL + "/sms/api/"``; the development credentials are derived from ``SECRET_KEY``
in settings. In production nothing falls back: :func:`production_errors` lists what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from portal.integrations.sms.templates import TEMPLATES

PRODUCTION_ENDPOINT = "sms.tencentcloudapi.com"


@dataclass(frozen=True)
class SmsConf:
    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    region: str
    endpoint: str  # host[:port][/path], as HttpProfile takes it
    scheme: str  # https, or http for the simulator
    timeout: float
    template_ids: dict[str, str]


def _endpoint() -> tuple[str, str]:
    value = (settings.SMS_ENDPOINT or "").strip()
    if not value and not settings.PRODUCTION:
        value = f"{settings.SIMULATOR_BASE_URL.rstrip('/')}/sms/api/"
    if "://" in value:
        parts = urlsplit(value)
        return parts.netloc + parts.path, parts.scheme
    return value or PRODUCTION_ENDPOINT, "https"


def template_ids() -> dict[str, str]:
    """The approved template id of each message: the shipped ids, overridden by ``SMS_TEMPLATE_IDS``."""
    ids = {name: t.template_id for name, t in TEMPLATES.items()}
    for item in (settings.SMS_TEMPLATE_IDS or "").split(","):
        name, _, template_id = item.partition(":")
        if name.strip() and template_id.strip():
            ids[name.strip()] = template_id.strip()
    return ids


def sms() -> SmsConf:
    endpoint, scheme = _endpoint()
    return SmsConf(
        secret_id=settings.SMS_SECRET_ID,
        secret_key=settings.SMS_SECRET_KEY,
        sdk_app_id=settings.SMS_SDK_APP_ID,
        sign_name=settings.SMS_SIGN_NAME,
        region=settings.SMS_REGION,
        endpoint=endpoint,
        scheme=scheme,
        timeout=settings.SMS_TIMEOUT_SECONDS,
        template_ids=template_ids(),
    )


def production_errors() -> list[str]:
    """One sentence per SMS setting that production cannot run with."""
    errors = []
    for name in ("SMS_SECRET_ID", "SMS_SECRET_KEY", "SMS_SDK_APP_ID", "SMS_SIGN_NAME"):
        if not getattr(settings, name, ""):
            errors.append(f"{name} is not set")
    if settings.SMS_SECRET_KEY and len(settings.SMS_SECRET_KEY) < 32:
        errors.append("SMS_SECRET_KEY is shorter than a Tencent Cloud SecretKey (32 characters)")
    endpoint = (settings.SMS_ENDPOINT or "").strip()
    if endpoint and ("/sim" in endpoint or endpoint.startswith("http://") or "127.0.0.1" in endpoint
                     or "localhost" in endpoint):
        errors.append(f"SMS_ENDPOINT points at a simulator or at plain HTTP ({endpoint})")
    configured = {item.partition(":")[0].strip() for item in (settings.SMS_TEMPLATE_IDS or "").split(",")}
    missing = sorted(set(TEMPLATES) - configured)
    if missing:
        errors.append(f"SMS_TEMPLATE_IDS names no approved template for: {', '.join(missing)}")
    return errors
