"""Production fails closed (issue 13, item 6): with ``PORTAL_ENV=production`` the system checks
(portal/checks.py) list every missing, default, weak or simulated setting as an error, and neither
``manage.py``, gunicorn nor Celery starts while any is reported."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.integration.test_settings import ROOT, production_env

EXPECTED_WITH_NOTHING_SET = [
    "(portal.E001) SECRET_KEY must be set",
    "(portal.E002) FIELD_ENCRYPTION_KEYS must be set",
    "(portal.E003) BLIND_INDEX_KEY must be set",
    "(portal.E004) DATABASE_URL must be set",
    "(portal.E004) REDIS_URL must be set",
    "(portal.E140) HSA_SERVICE_URL must be",
    "(portal.E140) HSA_PRIVATE_KEY must be an SM2 private key",
    "(portal.E110) SMS_SECRET_ID is not set",
    "(portal.E110) SMS_SECRET_KEY is not set",
    "(portal.E110) SMS_SDK_APP_ID is not set",
    "(portal.E110) SMS_TEMPLATE_IDS names no approved template",
    "(portal.E120) IDENTITY_SECRET_ID must be",
    "(portal.E120) IDENTITY_SECRET_KEY is missing",
    "(portal.E130) WECHATPAY_BASE_URL is not set",
    "(portal.E130) ALIPAY_BASE_URL is not set",
    "(portal.E130) WECHATPAY_APIV3_KEY is not set",
    "(portal.E130) WECHATPAY_PRIVATE_KEY (or WECHATPAY_PRIVATE_KEY_FILE) is not set",
    "(portal.E130) ALIPAY_PUBLIC_KEY (or ALIPAY_PUBLIC_KEY_FILE) is not set",
    "(portal.E130) PUBLIC_BASE_URL must be https",
]


def bare(**env):
    """A process environment with nothing of the portal's in it (not even the suite's database)."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONWARNINGS": "ignore", **env}


def run(args, env, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout)


def test_check_deploy_lists_every_problem_of_a_production_with_nothing_set():
    result = run(["manage.py", "check", "--deploy"], bare(PORTAL_ENV="production"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    missing = [line for line in EXPECTED_WITH_NOTHING_SET if line not in result.stderr]
    assert not missing, result.stderr
    assert "(portal.E005)" not in result.stderr  # production mounts no simulator by default


def test_defaults_weak_keys_and_simulators_are_errors():
    from portal.settings import _DEV_SECRET

    env = {**os.environ, **production_env(
        SECRET_KEY=_DEV_SECRET, BLIND_INDEX_KEY="x", FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},not-a-key",
        SIMULATORS_ENABLED="1",
        SMS_SECRET_KEY="short", WECHATPAY_APIV3_KEY="x")}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = run(["manage.py", "check", "--deploy"], env)
    assert result.returncode != 0
    for line in ["(portal.E001) SECRET_KEY is the development key",
                 "(portal.E002) FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key",
                 "(portal.E003) BLIND_INDEX_KEY is shorter than 32 bytes",
                 "(portal.E005) SIMULATORS_ENABLED must be off in production",
                 "(portal.E005) simulators are mounted: /admin/simulators/rosterentry/",
                 "(portal.E110) SMS_SECRET_KEY is shorter",
                 "(portal.E130) WECHATPAY_APIV3_KEY must be the 32-byte APIv3 key"]:
        assert line in result.stderr, (line, result.stderr)


def test_good_production_settings_are_clean():
    env = {**os.environ, **production_env()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("command", [
    ["-m", "gunicorn", "portal.wsgi", "--workers", "1", "--bind", "127.0.0.1:0", "--no-control-socket"],
    ["-m", "celery", "-A", "portal", "worker", "--pool=solo"],
    ["-m", "celery", "-A", "portal", "beat", "--schedule=/tmp/portal-fail-closed-beat"],
], ids=["gunicorn", "celery-worker", "celery-beat"])
def test_gunicorn_and_celery_refuse_to_start(command):
    result = run(command, bare(PORTAL_ENV="production"), timeout=90)
    assert result.returncode != 0
    assert "production settings refused" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr
