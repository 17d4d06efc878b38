"""Settings and set-up as an operator meets them: production checks, refused databases, clear failures."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def run(args, **env):
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env.update({"PYTHONWARNINGS": "ignore", **env})
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=120)


def production_env(**extra):
    return {
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": "blind-index-key-for-the-test-only",
        "ALLOWED_HOSTS": "hmb.example.gov.cn",
        "PAYMENT_API_KEY": "payment-api-key-for-the-test-only",
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
