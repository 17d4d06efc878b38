"""The newcomer's path: a second ``make install`` does no work beyond a check, and the payment
providers' notification address follows the address ``make run`` serves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from enrollment.models import ProductVersion
from portal import devservers, install

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def database_url_of_this_run() -> str:
    s = connection.settings_dict
    # The embedded server is reached by its socket directory, which dj-database-url keeps in OPTIONS.
    host = s["HOST"] or s.get("OPTIONS", {}).get("host") or "localhost"
    if host.startswith("/"):
        return f"postgresql://{s['USER']}@/{s['NAME']}?host={host}"
    return f"postgresql://{s['USER']}{':' + s['PASSWORD'] if s['PASSWORD'] else ''}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def installed_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(devservers, "VAR_DIR", tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url_of_this_run())
    return tmp_path


def test_a_second_install_only_checks(installed_tree):
    assert not ProductVersion.objects.exists()
    assert install.run() is True  # the first: migrate, load the products, stamp
    assert ProductVersion.objects.filter(slug="wuwei-2025").exists()
    started = time.perf_counter()
    assert install.run() is False  # nothing changed: a digest and one count
    assert time.perf_counter() - started < 1.5


def test_a_changed_product_file_or_a_reset_database_installs_again(installed_tree, monkeypatch):
    assert install.run() is True
    changed = installed_tree / "products.json"
    changed.write_bytes(install.PRODUCTS.read_bytes() + b"\n")
    monkeypatch.setattr(install, "PRODUCTS", changed)
    assert install.run() is True and install.run() is False
    # A database whose migrations differ from the stamp's (reset, or migrated elsewhere) runs again.
    stamp = next(installed_tree.glob("install-*.json"))
    stamp.write_text(stamp.read_text().replace('"migrations": ', '"migrations": 1'))
    assert install.run() is True


def settings_in_a_fresh_process(**env) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "SIMULATOR_BASE_URL",
                                                                   "PORTAL_ADDRESS")}
    environment.update(env)
    code = "from portal import settings; print(settings.PUBLIC_BASE_URL); print(settings.SIMULATOR_BASE_URL)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.split()


def test_the_notification_address_follows_the_served_address():
    assert settings_in_a_fresh_process() == ["http://127.0.0.1:8000", "http://127.0.0.1:8000/sim"]
    assert settings_in_a_fresh_process(PORTAL_ADDRESS="0.0.0.0:8123") == [
        "http://127.0.0.1:8123", "http://127.0.0.1:8123/sim"]
    assert settings_in_a_fresh_process(PORTAL_ADDRESS="9001")[0] == "http://127.0.0.1:9001"
    assert settings_in_a_fresh_process(PORTAL_ADDRESS="192.0.2.7:8000")[0] == "http://192.0.2.7:8000"
    # An explicit public address wins (production: the https address behind the proxy).
    assert settings_in_a_fresh_process(PORTAL_ADDRESS="0.0.0.0:8123",
                                       PUBLIC_BASE_URL="https://hmb.example.cn")[0] == "https://hmb.example.cn"
