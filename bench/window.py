"""window.settle_p99_ms, window.quote_p99_ms and window.settles_per_s: the hospital-window calls over
real HTTP against gunicorn (as README's production section starts it: 2 × cores + 1 sync workers),
20 concurrent callers, with 10,000 policy years of 20 settlements each already in the database
(received through the intake service and computed by the recompute task, claims and lines written).

Each call is signed (HMAC, timestamp, a fresh nonce kept in Redis) like the platform's. The quote
phase asks for the payout of a new discharge of a random policy year; the settle phase settles a
new discharge (dated after the year's 20) of a random policy year. Throwaway database on the
configured PostgreSQL, Redis database 14; everything started is stopped at the end; gunicorn's log
in var/bench/window-gunicorn.log. Sizes: BENCH_WINDOW_YEARS (10000), BENCH_WINDOW_CALLS (2000).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_REDIS_DB", "14")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.db import connection  # noqa: E402

YEARS = int(os.environ.get("BENCH_WINDOW_YEARS", "10000"))
PER_YEAR = 20
CALLS = int(os.environ.get("BENCH_WINDOW_CALLS", "2000"))
CONCURRENCY = 20
WORKERS = 2 * (os.cpu_count() or 1) + 1
DEADLINE = 300.0


def _p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def seed() -> list[str]:
    """YEARS active policies, PER_YEAR settlements each through the intake service, then the
    recompute task over all of them (batches of 200 years). Returns the ID numbers."""
    from django.utils import timezone

    from claims import services
    from claims.services.recompute import RECOMPUTE_BATCH
    from claims.tasks import recompute_policy_years
    from enrollment import services as enrollment_services
    from enrollment.models import Channel, Order, Plan, Policy
    from tests.factories import make_id, settlement_record, settlement_source

    source = settlement_source()
    plan = Plan.objects.select_related("version").get(version__slug="wuwei-2025", code="basic")
    version, now = plan.version, timezone.now()
    ids = [make_id(f"620622{1940 + n // 336}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}008") for n in range(YEARS)]
    people = [enrollment_services.person_get_or_create(name=f"窗口{n}", id_number=i) for n, i in enumerate(ids)]
    order = Order.objects.create(number=f"BENCHW{secrets.token_hex(6)}", version=version, channel=Channel.SELF,
                                 amount=Decimal("0.00"), status=Order.PAID, expires_at=now + timedelta(minutes=30))
    policies = Policy.objects.bulk_create([
        Policy(number=f"BW{n:08d}", person=person, version=version, plan=plan, order=order, channel=Channel.SELF,
               premium=Decimal("39.00"), coverage_start=version.coverage_start, coverage_end=version.coverage_end,
               status=Policy.ACTIVE, activated_at=now)
        for n, person in enumerate(people)])
    batch = []
    for n, id_number in enumerate(ids):
        for i in range(PER_YEAR):
            day = version.coverage_start + timedelta(days=7 + i * 12)
            batch.append(settlement_record(f"F{n}-{i}", id_number=id_number, admission=day.isoformat(),
                                           settled=f"{day.isoformat()}T10:00:00+08:00",
                                           in_catalog_self_pay=f"{(n * 37 + i * 1013) % 9000 + 500}.00"))
        if len(batch) >= 1000:
            services.settlements_receive(source=source, records=batch)
            batch = []
    if batch:
        services.settlements_receive(source=source, records=batch)
    pks = sorted(p.pk for p in policies)
    for start in range(0, len(pks), RECOMPUTE_BATCH):
        recompute_policy_years.run(pks[start:start + RECOMPUTE_BATCH])
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database: str):
    port = free_port()
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / "window-gunicorn.log").open("wb")
    env = {**os.environ, "PORTAL_DATABASE_NAME": database, "DEBUG": "0", "LOG_LEVEL": "WARNING",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("PORTAL_ENV", None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "portal.wsgi", "--workers", str(WORKERS),
                                "--bind", f"127.0.0.1:{port}", "--no-control-socket"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"{url}/health/live/", timeout=30).status_code == 200:
                return process, log, url
        except requests.RequestException:
            time.sleep(0.3)
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("gunicorn did not start: see var/bench/window-gunicorn.log")


_local = threading.local()


def call(url: str, path: str, record: dict) -> tuple[float, int]:
    from claims.api import signature

    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    body = json.dumps({"record": record}, ensure_ascii=False).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(12)
    headers = {"Content-Type": "application/json", "X-Key-Id": "WW-FEED-1", "X-Timestamp": timestamp,
               "X-Nonce": nonce, "X-Signature": signature("feed-secret", "POST", path, timestamp, nonce, body)}
    started = time.perf_counter()
    response = session.post(url + path, data=body, headers=headers, timeout=60)
    seconds = time.perf_counter() - started
    if response.status_code != 200 and os.environ.get("BENCH_DEBUG"):
        print(response.status_code, response.text[:300], file=sys.stderr)
    return seconds, response.status_code


def drive(jobs) -> tuple[list[float], int, float]:
    latencies, failures = [], 0
    lock = threading.Lock()
    deadline = time.monotonic() + DEADLINE

    def run(job):
        nonlocal failures
        if time.monotonic() > deadline:
            return
        seconds, status = job()
        with lock:
            if status == 200:
                latencies.append(seconds)
            else:
                failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(run, jobs))
    return latencies, failures, time.perf_counter() - started


def main() -> None:
    from django.core.cache import cache

    from claims.models import WindowSettlement
    from enrollment import services as enrollment_services
    from tests.factories import settlement_record

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    process = log = None
    try:
        cache.clear()
        enrollment_services.products_load()
        started = time.perf_counter()
        ids = seed()
        seeded = time.perf_counter() - started
        connection.close()
        process, log, url = start_gunicorn(connection.settings_dict["NAME"])
        rng = random.Random(15)

        def discharge(tag: str, n: int) -> dict:
            id_number = ids[rng.randrange(len(ids))]
            return settlement_record(f"{tag}{n}", id_number=id_number, admission="2026-05-20",
                                     settled=f"2026-05-28T{8 + n % 10:02d}:{n % 60:02d}:00+08:00",
                                     in_catalog_self_pay=f"{1000 + (n * 53) % 20000}.00")

        warm = [lambda n=n: call(url, "/api/v1/window/quote", discharge("WARM", n)) for n in range(CONCURRENCY * 2)]
        drive(warm)
        quotes = [lambda n=n: call(url, "/api/v1/window/quote", discharge("Q", n)) for n in range(CALLS)]
        latencies, failures, _ = drive(quotes)
        print(json.dumps({"name": "window.quote_p99_ms", "value": round(_p99(latencies) * 1000), "unit": "ms",
                          "calls": len(latencies), "failures": failures, "concurrency": CONCURRENCY,
                          "policy_years": YEARS, "settlements_per_year": PER_YEAR,
                          "gunicorn_workers": WORKERS}), flush=True)
        settles = [lambda n=n: call(url, "/api/v1/window/settlements", discharge("W", n)) for n in range(CALLS)]
        latencies, failures, elapsed = drive(settles)
        print(json.dumps({"name": "window.settle_p99_ms", "value": round(_p99(latencies) * 1000), "unit": "ms",
                          "calls": len(latencies), "failures": failures, "concurrency": CONCURRENCY,
                          "policy_years": YEARS, "settlements_per_year": PER_YEAR,
                          "seed_seconds": round(seeded)}), flush=True)
        print(json.dumps({"name": "window.settles_per_s", "value": round(len(latencies) / elapsed, 1),
                          "unit": "settles/s", "concurrency": CONCURRENCY}), flush=True)
        stored = WindowSettlement.objects.count()
        connection.close()
        assert stored == len(latencies), (stored, len(latencies))
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
        cache.clear()
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
