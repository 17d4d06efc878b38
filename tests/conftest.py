import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def products(db):
    """The shipped programs and product versions, as `make install` loads them."""
    from enrollment import services

    services.products_load()


@pytest.fixture
def draft_version(products):
    """An editable copy of wuwei-2025 (the shipped one is published and frozen)."""
    from enrollment import services
    from enrollment.models import ProductVersion

    return services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-2026", year=2026)


@pytest.fixture(autouse=True)
def fresh_redis():
    """Every test starts with an empty Redis database: no rate-limit counters or used nonces.

    The suite has its own database (tests/environment.py: 15 unless PORTAL_REDIS_DB names
    another), so this never touches a development worker's queue or cache."""
    import os

    from django.conf import settings
    from django.core.cache import cache

    db = os.environ["PORTAL_REDIS_DB"]
    assert db != "0" and (f"db={db}" in settings.REDIS_URL or settings.REDIS_URL.endswith(f"/{db}")), settings.REDIS_URL
    cache.clear()


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def simulator_server(tmp_path_factory):
    """The simulators on a loopback port for the whole session (see tests/loopback.py). The same
    server is the portal's public address, so the simulators' notifications reach the merchant's
    endpoints over HTTP too; the payment simulator's keys and the development e-policy signing
    certificate are generated in temporary directories."""
    from django.conf import settings

    from tests.loopback import LoopbackServer

    server = LoopbackServer()
    server.start()
    settings.SIMULATOR_BASE_URL = f"{server.url}/sim"
    settings.PUBLIC_BASE_URL = server.url
    settings.PAYMENT_SIMULATOR_KEY_DIR = tmp_path_factory.mktemp("payments-sim")
    settings.EPOLICY_SIGNING_DEV_DIR = tmp_path_factory.mktemp("epolicy-signing")
    # inherited by worker processes
    os.environ["SIMULATOR_BASE_URL"] = settings.SIMULATOR_BASE_URL
    os.environ["PUBLIC_BASE_URL"] = settings.PUBLIC_BASE_URL
    os.environ["PAYMENT_SIMULATOR_KEY_DIR"] = str(settings.PAYMENT_SIMULATOR_KEY_DIR)
    os.environ["EPOLICY_SIGNING_DEV_DIR"] = str(settings.EPOLICY_SIGNING_DEV_DIR)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def simulators(request, simulator_server):
    """Each test's database connection is the simulators' for its duration; a test that may not
    touch the database gets a simulator that may not either."""
    from django.db import connections

    simulator_server.share(connections["default"])
    yield simulator_server
    simulator_server.unshare()


@pytest.fixture
def worker(tmp_path, simulator_server):
    """Start real worker processes on the test database and the suite's Redis database. Their
    log is printed after the test (pytest shows it when the test fails)."""
    processes = []
    log = tmp_path / "worker.log"

    def start(concurrency=2, beat=False, **environment):
        """``beat=True`` runs the beat scheduler inside the worker; ``environment`` overrides
        variables (e.g. ``CLAIMS_SWEEP_SECONDS``)."""
        from django.db import connection

        env = {**os.environ, "PORTAL_DATABASE_NAME": connection.settings_dict["NAME"],
               "PORTAL_REDIS_DB": os.environ["PORTAL_REDIS_DB"], **environment}
        extra = ["--beat", f"--schedule={tmp_path / f'beat-{len(processes)}'}"] if beat else []
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork", f"--concurrency={concurrency}",
             "--without-mingle", "--without-gossip", "--loglevel=INFO", f"--hostname=test{len(processes)}@%h", *extra],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    simulator_server.quiesce()  # what the workers left queued never meets the flush of this test's data
    if log.exists():
        print(log.read_text(errors="replace")[-4000:])


def wait_for(condition, timeout=60.0, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")




@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's ``admin_client``, past the staff second factor (as after its page)."""
    from tests.factories import login_as

    login_as(client, admin_user)
    return client


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop in the test thread for the
    rest of the session (the session-scoped browser), where ``asyncio.run`` (pyHanko's signing,
    the health checks) cannot run. A stable sort keeps pytest-django's order within each group."""
    items.sort(key=lambda item: "tests/e2e/" in str(item.fspath))
