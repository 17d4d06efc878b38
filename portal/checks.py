"""Production fails closed (issue 13, item 6): Django system checks, tagged ``production``.

With ``PORTAL_ENV=production`` each check reports an **error** for a secret that is missing, a
development default or too weak, a backend that is a simulator, simulators mounted, or the data
stores left to the development fall-back; outside production they report nothing. They are
registered for every run of the checks (not only ``--deploy``), so:

- ``manage.py check`` and ``check --deploy`` list every problem at once and exit non-zero; every
  management command that runs the checks (``migrate``, ``runserver``, ``load_products`` …) refuses;
- ``portal.wsgi`` (gunicorn) and ``portal.celery`` (worker, beat) run them before serving
  (:func:`refuse_to_start`) and stop with the list.

Each outside system keeps its own list in ``portal/integrations/<system>/conf.py``
(``production_errors()``), reported here as ``portal.E1xx`` errors: one mechanism for all.
"""

from __future__ import annotations

import base64
import hashlib

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

TAG = "production"
MIN_SECRET_KEY = 50  # Django's own advice for SECRET_KEY (security.W009)
MIN_HMAC_KEY = 32  # bytes: the blind index's HMAC key


def _production() -> bool:
    return bool(getattr(settings, "PRODUCTION", False))


def _error(message: str, id: str, hint: str | None = None) -> checks.Error:
    return checks.Error(message, hint=hint, id=f"portal.{id}")


def _development_key(label: str) -> str:
    from portal.settings import _DEV_SECRET

    return base64.urlsafe_b64encode(hashlib.sha256(f"{label}:{_DEV_SECRET}".encode()).digest()).decode()


@checks.register(TAG, checks.Tags.security)
def secrets_check(app_configs=None, **kwargs) -> list[checks.Error]:
    """``SECRET_KEY``, ``FIELD_ENCRYPTION_KEYS``, ``BLIND_INDEX_KEY``: set, not a development
    value, strong enough; every Fernet key decodes."""
    if not _production():
        return []
    from cryptography.fernet import Fernet

    from portal.settings import _DEV_SECRET

    errors = []
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        secret_key = ""
    if not secret_key:
        errors.append(_error("SECRET_KEY must be set when PORTAL_ENV=production", "E001",
                             "a random value of at least 50 characters from the secret store"))
    elif secret_key == _DEV_SECRET:
        errors.append(_error("SECRET_KEY is the development key", "E001"))
    elif len(secret_key) < MIN_SECRET_KEY or len(set(secret_key)) < 5:
        errors.append(_error(f"SECRET_KEY is shorter than {MIN_SECRET_KEY} characters or not random", "E001"))

    keys = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [])
    if not keys:
        errors.append(_error("FIELD_ENCRYPTION_KEYS must be set when PORTAL_ENV=production", "E002",
                             'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'))
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(_error(f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                                 "(32 bytes, URL-safe base64)", "E002"))
            continue
        if key == _development_key("field-encryption"):
            errors.append(_error(f"FIELD_ENCRYPTION_KEYS: key {position} is the development key", "E002"))

    blind = getattr(settings, "BLIND_INDEX_KEY", "") or ""
    if not blind:
        errors.append(_error("BLIND_INDEX_KEY must be set when PORTAL_ENV=production", "E003"))
    elif blind == _development_key("blind-index"):
        errors.append(_error("BLIND_INDEX_KEY is the development key", "E003"))
    elif len(blind.encode()) < MIN_HMAC_KEY:
        errors.append(_error(f"BLIND_INDEX_KEY is shorter than {MIN_HMAC_KEY} bytes", "E003"))
    return errors


@checks.register(TAG)
def data_stores_check(app_configs=None, **kwargs) -> list[checks.Error]:
    """Production never starts the embedded development servers."""
    if not _production():
        return []
    import os

    errors = []
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            errors.append(_error(f"{name} must be set when PORTAL_ENV=production "
                                 "(the embedded development server is never used in production)", "E004"))
    return errors


def _simulator_routes() -> list[str]:
    from django.contrib import admin
    from django.urls import URLPattern, URLResolver, get_resolver

    from portal.apps import is_simulator_app

    found = [f"admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry
             if is_simulator_app(m._meta.app_config.name)]

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                module = getattr(pattern.urlconf_module, "__name__", "")
                if is_simulator_app(module):
                    found.append(prefix + str(pattern.pattern))
                else:
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                module = getattr(pattern.callback, "__module__", "")
                if is_simulator_app(module):
                    found.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return found


@checks.register(TAG, checks.Tags.urls)
def simulators_check(app_configs=None, **kwargs) -> list[checks.Error]:
    """No simulator is routed: neither its pages under ``/sim/`` nor its tables in the admin. (The
    adapters' own checks refuse an endpoint that points at a simulator.)"""
    if not _production():
        return []
    errors = []
    if getattr(settings, "SIMULATORS_ENABLED", False):
        errors.append(_error("SIMULATORS_ENABLED must be off in production", "E005"))
    routes = _simulator_routes()
    if routes:
        errors.append(_error(f"simulators are mounted: /{', /'.join(routes)}", "E005"))
    return errors


@checks.register(TAG)
def integrations_check(app_configs=None, **kwargs) -> list[checks.Error]:
    """Each outside system's own list (``portal/integrations/<system>/conf.py``)."""
    if not _production():
        return []
    from portal.integrations import production_errors

    ids = {"sms": "E110", "identity": "E120", "payments": "E130", "hsa": "E140"}
    return [_error(message, ids.get(system, "E100")) for system, message in production_errors()]


def production_errors() -> list[checks.CheckMessage]:
    """Every serious problem the production checks find (none outside production)."""
    return [m for m in checks.run_checks(tags=[TAG], include_deployment_checks=True) if m.is_serious()]


def refuse_to_start() -> None:
    """Called by the WSGI application and the Celery worker and beat before they serve."""
    problems = production_errors()
    if problems:
        raise ImproperlyConfigured("production settings refused:\n" + "\n".join(f"  {p}" for p in problems))
