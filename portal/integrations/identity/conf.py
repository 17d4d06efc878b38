"""Settings of the identity-verification adapter, read at call time.

================================  ==============================================================
``IDENTITY_BASE_URL``             Tencent Cloud's endpoint, ``https://faceid.tencentcloudapi.com``
                                  in production; outside production it defaults to the simulator
                                  (``SIMULATOR_BASE_URL + "/identity"``)
``IDENTITY_SECRET_ID``            the Cloud API key's SecretId (CAM sub-account limited to faceid)
``IDENTITY_SECRET_KEY``           its SecretKey (signs every request, TC3-HMAC-SHA256)
``IDENTITY_REGION``               ``ap-guangzhou``
``IDENTITY_TIMEOUT_SECONDS``      5
================================  ==============================================================
"""

from __future__ import annotations

from django.conf import settings

PRODUCTION_URL = "https://faceid.tencentcloudapi.com"


def base_url() -> str:
    configured = getattr(settings, "IDENTITY_BASE_URL", "")
    if configured:
        return configured.rstrip("/")
    if getattr(settings, "PRODUCTION", False):
        return PRODUCTION_URL
    return settings.SIMULATOR_BASE_URL.rstrip("/") + "/identity"


def secret_id() -> str:
    return getattr(settings, "IDENTITY_SECRET_ID", "")


def secret_key() -> str:
    return getattr(settings, "IDENTITY_SECRET_KEY", "")


def region() -> str:
    return getattr(settings, "IDENTITY_REGION", "") or "ap-guangzhou"


def timeout() -> float:
    return float(getattr(settings, "IDENTITY_TIMEOUT_SECONDS", 5))


def production_errors() -> list[str]:
    """One sentence per setting that is missing, weak or pointing at a simulator in production."""
    if not getattr(settings, "PRODUCTION", False):
        return []
    errors = []
    url = base_url()
    simulator = getattr(settings, "SIMULATOR_BASE_URL", "")
    if not url.startswith("https://") or (simulator and url.startswith(simulator.rstrip("/"))) or "/sim/" in url:
        errors.append(f"IDENTITY_BASE_URL must be Tencent Cloud's HTTPS endpoint, not {url!r}.")
    if not secret_id().startswith("AKID") or "simulator" in secret_id():
        errors.append("IDENTITY_SECRET_ID must be the faceid Cloud API SecretId (AKID…).")
    if len(secret_key()) < 32:
        errors.append("IDENTITY_SECRET_KEY is missing or shorter than 32 characters.")
    return errors
