"""Settings of the medical-insurance platform adapter (医疗保障信息平台), read at call time.

================================  ==============================================================
``HSA_SERVICE_URL``               the platform's service address (one URL for every ``infno``);
                                  outside production it defaults to the simulator,
                                  ``SIMULATOR_BASE_URL + "/hsa/fsi/api/rsfComIfsService/callService"``
``HSA_FIXMEDINS_CODE``            the 12-character institution code the bureau assigned to the
                                  insurer (``fixmedins_code``; the first 12 characters of ``msgid``)
``HSA_FIXMEDINS_NAME``            its registered name (``fixmedins_name``)
``HSA_MDTRTAREA_ADMVS``           the 6-digit 医保区划 of the service area (``mdtrtarea_admvs``)
``HSA_RECER_SYS_CODE``            the receiving system's code the bureau gave (``recer_sys_code``)
``HSA_INFVER``                    interface version, ``V1.0``
``HSA_OPTER`` / ``HSA_OPTER_NAME``  operator code and name sent with self-service calls
``HSA_PRIVATE_KEY``               the insurer's SM2 private key (64 hex digits; ``_FILE`` variant)
                                  — signs every request; its public key is registered with the bureau
``HSA_PLATFORM_PUBLIC_KEY``       the platform's SM2 public key (128 hex digits) — verifies answers
``HSA_TIMEOUT_SECONDS``           5
================================  ==============================================================

Outside production an empty key falls back to a development key derived from ``SECRET_KEY``
(the insurer's) and the simulator's own platform key (``simulator/keys.py``), so a fresh clone
works with no set-up. :func:`production_errors` refuses the simulator, a missing or derived key.
"""

from __future__ import annotations

from django.conf import settings

from portal.integrations.hsa import sm

SERVICE_PATH = "/hsa/fsi/api/rsfComIfsService/callService"


def _get(name: str, default: str = "") -> str:
    return str(getattr(settings, name, "") or default)


def production() -> bool:
    return bool(getattr(settings, "PRODUCTION", False))


def service_url() -> str:
    configured = _get("HSA_SERVICE_URL")
    if configured or production():
        return configured
    return settings.SIMULATOR_BASE_URL.rstrip("/") + SERVICE_PATH


def fixmedins_code() -> str:
    return _get("HSA_FIXMEDINS_CODE", "" if production() else "H37100000001")


def fixmedins_name() -> str:
    return _get("HSA_FIXMEDINS_NAME", "" if production() else "惠民保承保公司（开发）")


def mdtrtarea_admvs() -> str:
    return _get("HSA_MDTRTAREA_ADMVS", "" if production() else "371000")


def recer_sys_code() -> str:
    return _get("HSA_RECER_SYS_CODE", "" if production() else "HSA_SIM")


def infver() -> str:
    return _get("HSA_INFVER", "V1.0")


def opter() -> str:
    return _get("HSA_OPTER", "HMB-SELF")


def opter_name() -> str:
    return _get("HSA_OPTER_NAME", "惠民保线上自助")


def timeout() -> float:
    return float(getattr(settings, "HSA_TIMEOUT_SECONDS", 5) or 5)


def development_private_key() -> str:
    return sm.private_key_from_seed(f"hsa-insurer:{settings.SECRET_KEY}".encode())


def private_key() -> str:
    return _get("HSA_PRIVATE_KEY", "" if production() else development_private_key())


def platform_public_key() -> str:
    configured = _get("HSA_PLATFORM_PUBLIC_KEY")
    if configured or production():
        return configured
    from portal.integrations.hsa.simulator import keys

    return keys.platform_public_key()


def production_errors() -> list[str]:
    """One sentence per setting that is missing, weak or pointing at the simulator in production."""
    if not production():
        return []
    errors = []
    url = service_url()
    simulator = _get("SIMULATOR_BASE_URL")
    if not url.startswith("https://") or (simulator and url.startswith(simulator.rstrip("/"))) or "/sim/" in url:
        errors.append(f"HSA_SERVICE_URL must be the medical-insurance platform's HTTPS address, not {url!r}.")
    if len(fixmedins_code()) != 12:
        errors.append("HSA_FIXMEDINS_CODE must be the 12-character code the bureau assigned.")
    for name, value in (("HSA_FIXMEDINS_NAME", fixmedins_name()), ("HSA_MDTRTAREA_ADMVS", mdtrtarea_admvs()),
                        ("HSA_RECER_SYS_CODE", recer_sys_code())):
        if not value:
            errors.append(f"{name} is missing.")
    key = private_key()
    try:
        sm.public_key_of(key)
        if key.lower() == development_private_key():
            errors.append("HSA_PRIVATE_KEY is the development key derived from SECRET_KEY.")
    except sm.KeyInvalid:
        errors.append("HSA_PRIVATE_KEY must be an SM2 private key (64 hexadecimal digits).")
    platform = platform_public_key()
    try:
        sm._public(platform)
        from portal.integrations.hsa.simulator import keys

        if sm._public(platform) == keys.platform_public_key():
            errors.append("HSA_PLATFORM_PUBLIC_KEY is the simulator's key.")
    except sm.KeyInvalid:
        errors.append("HSA_PLATFORM_PUBLIC_KEY must be the platform's SM2 public key (128 hexadecimal digits).")
    return errors
