"""The load suite (issue 18): the portal under gunicorn as the README's production section starts it
(2 × cores + 1 sync workers) and one Celery worker (niced, as there), driven by a bounded thread client.

Figures (one JSON line each):

- enroll.orders_per_s: distinct residents' purchase POSTs (each buys for herself) at 50 concurrent;
- enroll.ratio_to_trivial: the same rate over ``GET /health/`` at 50 concurrent in the same run;
- enroll.p95_ms: the purchase POST's 95th percentile at 50 concurrent;
- enroll.p95_growth_during_import: the purchase p95 while a 50,000-row list is uploaded, validated
  and confirmed, over the p95 without;
- lists.page_ms_50k: the list page of that 50,000-row list (median of 10, p95 beside it);
- dashboard.p95_ms: the bureau's dashboard with 200,000 policies (bench/dashboard.py's data) while
  the purchase load runs, as served (its figures cached a minute); dashboard.computed_p95_ms: the
  same page computing its figures each request;
- race.live_policies_for_one_person (a check, must be 1): 50 residents buy for one person at once.

How it runs: a throwaway database on the configured PostgreSQL (the embedded one when no
DATABASE_URL is set) and Redis database 14; a product version on sale today (a published copy of
wuwei-2025, as ``load_demo`` makes); gunicorn in development mode with DEBUG off (PORTAL_ENV is not
``production``: production refuses simulators, and the purchase asks the basic-insurance registry,
whose counterpart here is its simulator, served under ``/sim/`` by a second gunicorn standing for
the outside system). Every phase has a fixed number of requests and a deadline; everything started
is stopped at the end.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_REDIS_DB", "14")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
import servers  # noqa: E402  (bench/servers.py)
from django.db import connection  # noqa: E402

CONCURRENCY = 50
BURST = int(os.environ.get("BENCH_BURST", "1500"))  # distinct residents in the opening burst
DURING = int(os.environ.get("BENCH_DURING", "3000"))  # residents available while the list imports
LIST_ROWS = int(os.environ.get("BENCH_LIST_ROWS", "50000"))
DEADLINE = 300.0  # seconds, for any one phase
WORKERS = 2 * (os.cpu_count() or 1) + 1


def _p95(values):
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else (values[0] if values else 0.0)


def cn(prefix: str, n: int) -> str:
    """A name a person could have: the number in Chinese digits (names take no ASCII digits)."""
    return prefix + "".join("零一二三四五六七八九"[int(d)] for d in str(n))


def _id(n: int, tail: str) -> str:
    from tests.factories import make_id

    return make_id(f"620602{1940 + n // 336}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}{tail}")


# --- Data ------------------------------------------------------------------------------------------


def seed(count: int) -> dict:
    """The version on sale, ``count`` bound residents (each in the registry's roster) with a
    session and a CSRF secret, the race's target person, an approved organization and its manager,
    a bureau account, and the dashboard's 200,000 policies."""
    from datetime import date

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY

    from enrollment import organizations
    from enrollment import services as enrollment_services
    from enrollment.management.commands.load_demo import _demo_version
    from enrollment.models import Person, Resident
    from portal import crypto
    from portal.simulators.models import RosterEntry
    from tests.factories import staff_user, totp_device

    enrollment_services.products_load()
    today = date.today()
    slug = f"wuwei-{today.year + 1}-bench"
    _demo_version("wuwei-2025", slug, today)

    ids = [_id(n, "101") for n in range(count + 1)]
    RosterEntry.objects.bulk_create([
        RosterEntry(id_hash=crypto.blind_index(i), id_masked=i[:6] + "********" + i[-4:], name=cn("居民", n),
                    status="in_force", insured_region=i[:6], category="resident")
        for n, i in enumerate(ids)], batch_size=5000)
    people = []
    for n, i in enumerate(ids[:count]):
        person = Person(name=cn("居民", n))
        person.set_id_number(i)
        people.append(person)
    Person.objects.bulk_create(people, batch_size=5000)
    users = User.objects.bulk_create([User(username=f"p:139{n:08d}", password="!") for n in range(count + 1)],
                                     batch_size=5000)
    residents = Resident.objects.bulk_create(
        [Resident(user=u, phone=f"139{n:08d}", person=p) for n, (u, p) in enumerate(zip(users, people, strict=False))]
        + [Resident(user=users[count], phone=f"139{count:08d}")], batch_size=5000)
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)

    manager = residents[0]
    organization = organizations.organization_register(
        resident=manager, name="武威市压测单位", credit_code="91620600MA71X0AB32", kind="employer",
        contact_name="压测", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    staff_user("bureau", "医保局监管")
    bureau = SessionStore()
    bureau_user = User.objects.get(username="bureau")
    bureau[SESSION_KEY], bureau[BACKEND_SESSION_KEY] = str(bureau_user.pk), "django.contrib.auth.backends.ModelBackend"
    bureau[HASH_SESSION_KEY] = bureau_user.get_session_auth_hash()
    bureau[DEVICE_ID_SESSION_KEY] = totp_device(bureau_user).persistent_id  # past the second factor
    bureau.create()

    dashboard_version = None
    if os.environ.get("BENCH_DASHBOARD", "1") == "1":
        sys.path.insert(0, str(ROOT / "bench"))
        import dashboard

        dashboard_version = dashboard.build()
    from enrollment.models import Plan

    return {"slug": slug, "plan": Plan.objects.get(version__slug=slug, code="basic").pk, "sessions": sessions, "ids": ids, "organization": organization.pk,
            "bureau": bureau.session_key, "dashboard_version": dashboard_version}


def list_csv(rows: int) -> bytes:
    """A 50,000-row list of people in the roster (the registry's simulator knows them)."""
    from portal import crypto
    from portal.simulators.models import RosterEntry

    ids = [_id(n, "202") for n in range(rows)]
    RosterEntry.objects.bulk_create([
        RosterEntry(id_hash=crypto.blind_index(i), id_masked=i[:6] + "********" + i[-4:], name=cn("职工", n),
                    status="in_force", insured_region=i[:6], category="resident")
        for n, i in enumerate(ids)], batch_size=5000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "手机号"])
    writer.writerows([cn("职工", n), i, ""] for n, i in enumerate(ids))
    return out.getvalue().encode("utf-8")


# --- Servers ---------------------------------------------------------------------------------------


class Servers:
    """The portal under gunicorn (2 × cores + 1 sync workers), its counterparts' simulators under a
    second gunicorn (as a real registry or payment provider is another server: a sync worker
    never waits on a request that needs another worker of its own pool), and one Celery worker,
    all on the throwaway database."""

    def __init__(self, database: str):
        self.port, counterpart = servers.free_port(), servers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers.LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.env = servers.environment(database, PUBLIC_BASE_URL=self.url,
                                       SIMULATOR_BASE_URL=f"http://127.0.0.1:{counterpart}/sim")
        self.logs = [(servers.LOG_DIR / f"{name}.log").open("wb") for name in ("gunicorn", "counterpart", "worker")]
        self.processes = [
            servers.gunicorn(self.port, WORKERS, self.env, self.logs[0]),
            servers.gunicorn(counterpart, 2, self.env, self.logs[1]),
            # niced, as the README's production section starts workers that share cores with gunicorn
            subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "celery", "-A", "portal", "worker",
                              "--concurrency=1",
                              "--without-mingle", "--without-gossip", "--loglevel=WARNING", "--hostname=bench@%h"],
                             cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self.logs[2]),
        ]
        try:
            for url, process in ((self.url, self.processes[0]), (f"http://127.0.0.1:{counterpart}", self.processes[1])):
                servers.wait_live(url, process)
        except SystemExit:
            self.stop()
            raise

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


# --- The client ------------------------------------------------------------------------------------


def _session(key: str | None) -> requests.Session:
    session = requests.Session()
    csrf = secrets.token_hex(16)  # 32 characters: Django compares it with the cookie as it is
    session.cookies.set("csrftoken", csrf)
    session.headers["X-CSRFToken"] = csrf
    if key:
        session.cookies.set("sessionid", key)
    return session


def purchase(url: str, slug: str, session_key: str, name: str, id_number: str, relation: str = "self"):
    """One purchase POST; returns (seconds, status)."""
    data = {"consent": ["terms", "privacy"], "people-0-name": name, "people-0-id_number": id_number,
            "people-0-relation": relation}
    with _session(session_key) as session:
        started = time.perf_counter()
        response = session.post(f"{url}/buy/{slug}/basic/", data=data, allow_redirects=False, timeout=60)
        if os.environ.get("BENCH_DEBUG") and response.status_code >= 400:
            import re

            print(response.status_code, re.findall(r'class="error[^"]*"[^>]*>([^<]+)<', response.text)[:3],
                  file=sys.stderr)
        return time.perf_counter() - started, response.status_code


def drive(jobs, stop: threading.Event | None = None) -> tuple[list[float], int, float]:
    """Run the jobs (callables returning (seconds, status)) on CONCURRENCY threads; a set ``stop``
    ends the run early. Returns the latencies of the successes (2xx/3xx), the failures, the time."""
    latencies, failures = [], 0
    lock = threading.Lock()
    deadline = time.monotonic() + DEADLINE

    def run(job):
        nonlocal failures
        if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
            return
        seconds, status = job()
        with lock:
            if status < 400:
                latencies.append(seconds)
            else:
                failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(run, jobs))
    return latencies, failures, time.perf_counter() - started


def health(url: str):
    started = time.perf_counter()
    status = requests.get(f"{url}/health/", timeout=30).status_code
    return time.perf_counter() - started, status


# --- Phases ----------------------------------------------------------------------------------------


def main() -> None:
    from django.core.cache import cache

    from enrollment.models import BeneficiaryList, Person, Policy

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    servers = None
    try:
        cache.clear()
        data = seed(BURST + DURING + 60)
        listing = list_csv(LIST_ROWS)
        servers = Servers(name)
        url, slug, sessions, ids = servers.url, data["slug"], data["sessions"], data["ids"]
        connection.close()

        drive([lambda: health(url)] * 100)  # warm every worker
        trivial, _, seconds = drive([lambda: health(url)] * 1500)
        trivial_rate = len(trivial) / seconds

        burst = [lambda n=n: purchase(url, slug, sessions[n], cn("居民", n), ids[n]) for n in range(BURST)]
        latencies, failures, seconds = drive(burst)
        rate, p95 = len(latencies) / seconds, _p95(latencies) * 1000
        print(json.dumps({"name": "enroll.orders_per_s", "value": round(rate, 1), "unit": "orders/s",
                          "concurrency": CONCURRENCY, "orders": len(latencies), "failures": failures,
                          "gunicorn_workers": WORKERS}), flush=True)
        print(json.dumps({"name": "enroll.ratio_to_trivial", "value": round(rate / trivial_rate, 3), "unit": "ratio",
                          "trivial_per_s": round(trivial_rate, 1)}), flush=True)
        print(json.dumps({"name": "enroll.p95_ms", "value": round(p95), "unit": "ms",
                          "p50_ms": round(statistics.median(latencies or [0]) * 1000)}), flush=True)

        # 50 residents buy for the same person at the same moment: exactly one live policy.
        target = ids[BURST + DURING + 50]
        racers = range(BURST + DURING, BURST + DURING + 50)
        barrier = threading.Barrier(50)

        def race(n):
            barrier.wait(30)
            return purchase(url, slug, sessions[n], cn("居民", BURST + DURING + 50), target, relation="other")

        drive([lambda n=n: race(n) for n in racers])
        from portal import crypto

        live = Policy.objects.filter(person__in=Person.objects.filter(id_hash=crypto.blind_index(target)),
                                     status__in=Policy.LIVE).count()
        connection.close()
        print(json.dumps({"name": "race.live_policies_for_one_person", "value": live, "unit": "policies",
                          "racers": 50}), flush=True)

        # Purchases while a 50,000-row list is uploaded, validated and confirmed.
        manager = _session(sessions[0])
        done = threading.Event()
        during_jobs = [lambda n=n: purchase(url, slug, sessions[n], cn("居民", n), ids[n])
                       for n in range(BURST, BURST + DURING)]
        results: dict = {}
        buyer = threading.Thread(target=lambda: results.update(during=drive(during_jobs, stop=done)))
        buyer.start()
        import_started = time.perf_counter()
        response = manager.post(f"{url}/lists/new/?org={data['organization']}", data={"plan": data["plan"]},
                                files={"file": ("名单.csv", listing, "text/csv")}, allow_redirects=False, timeout=120)
        assert response.status_code == 302, (response.status_code, response.text[:500])
        number = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        _wait(lambda: BeneficiaryList.objects.get(number=number).status == BeneficiaryList.VALIDATED)
        validated = time.perf_counter()
        confirm = manager.post(f"{url}/lists/{number}/confirm/", data={"declared": "1"}, allow_redirects=False,
                               timeout=60)
        confirm_ms = (time.perf_counter() - validated) * 1000
        _wait(lambda: BeneficiaryList.objects.get(number=number).status == BeneficiaryList.ORDERED)
        import_seconds = time.perf_counter() - import_started
        done.set()
        buyer.join()
        during, during_failures, _ = results["during"]
        growth = _p95(during) * 1000 / p95 if during and p95 else 0.0
        print(json.dumps({"name": "enroll.p95_growth_during_import", "value": round(growth, 2), "unit": "ratio",
                          "p95_during_ms": round(_p95(during) * 1000), "orders_during": len(during),
                          "failures_during": during_failures, "list_rows": LIST_ROWS,
                          "import_and_confirm_s": round(import_seconds, 1), "confirm_post_ms": round(confirm_ms),
                          "confirm_status": confirm.status_code}), flush=True)

        timings = []
        for n in range(11):
            started = time.perf_counter()
            assert manager.get(f"{url}/lists/{number}/", timeout=60).status_code == 200
            if n:
                timings.append((time.perf_counter() - started) * 1000)
        print(json.dumps({"name": "lists.page_ms_50k", "value": round(statistics.median(timings)), "unit": "ms",
                          "p95_ms": round(_p95(timings)), "rows": LIST_ROWS}), flush=True)

        if data["dashboard_version"] is None:
            return
        # The bureau's dashboard while residents keep buying.
        done = threading.Event()
        more = [lambda n=n: purchase(url, slug, sessions[n], cn("居民", n), ids[n], relation="self")
                for n in range(BURST, BURST + DURING)]  # already covered: each POST is a full refused check
        buyer = threading.Thread(target=lambda: drive(more, stop=done))
        buyer.start()
        bureau = _session(data["bureau"])
        from enrollment.models import ProductVersion
        from supervision import selectors

        program = ProductVersion.objects.select_related("program").get(pk=data["dashboard_version"]).program
        figures = {}
        for name, computed in (("dashboard.p95_ms", False), ("dashboard.computed_p95_ms", True)):
            timings = []
            for n in range(21):
                if computed:  # the figures computed by this request, not read from the minute's cache
                    selectors.figures_forget(program)
                started = time.perf_counter()
                response = bureau.get(f"{url}/supervision/", params={"version": data["dashboard_version"]},
                                      timeout=60)
                assert response.status_code == 200, response.status_code
                if n:
                    timings.append((time.perf_counter() - started) * 1000)
            figures[name] = (_p95(timings), computed)
        connection.close()
        done.set()
        buyer.join()
        for name, (p95, computed) in figures.items():
            print(json.dumps({"name": name, "value": round(p95), "unit": "ms", "policies": 200_000, "requests": 20,
                              "under": "purchase load",
                              "figures": "computed each request" if computed else "as served (cached a minute)"}),
                  flush=True)
    finally:
        if servers is not None:
            servers.stop()
        cache.clear()
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)


def _wait(condition, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        finally:
            connection.close()
        time.sleep(0.5)
    raise SystemExit("timed out waiting for the worker")


if __name__ == "__main__":
    main()
