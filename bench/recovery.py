"""recovery.seconds_after_worker_kill: from a killed worker's restart to the serial result.

A real Celery worker recomputes the policy years of 1,000 settlements; its main process is killed
(``kill -9``, its pool with it) while a recompute is running, so the messages it held stay in
Redis's unacknowledged set until the broker's visibility timeout. Another worker is started with
beat and the production defaults of the claims sweeper (``CLAIMS_SWEEP_SECONDS`` and
``CLAIMS_SWEEP_GRACE_SECONDS``, 30 s each); the figure is the time from its start until every
settlement has its claim and recomputing changes nothing. Throwaway database, Redis database 14.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_REDIS_DB", "14")

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402

POLICIES, PER_POLICY = 200, 5
DEADLINE = 300.0


def worker(database: str, schedule: Path | None, log) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_DATABASE_NAME": database}
    extra = ["--beat", f"--schedule={schedule}"] if schedule else []
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork", "--concurrency=1",
         "--without-mingle", "--without-gossip", "--loglevel=WARNING", f"--hostname=recovery{len(extra)}@%h", *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)


def kill_all(process: subprocess.Popen) -> None:
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True,
                              text=True).stdout.split()
    os.kill(process.pid, signal.SIGKILL)
    for pid in children:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(10)


def main() -> None:
    import importlib.util

    from django.core.cache import cache

    from claims import services
    from claims.models import Claim, PolicyYear, Settlement, SettlementSource
    from enrollment import services as enrollment_services

    spec = importlib.util.spec_from_file_location("bench_claims", ROOT / "bench" / "claims.py")
    claims_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(claims_bench)

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    processes = []
    try:
        cache.clear()
        enrollment_services.products_load()
        claims_bench.POLICIES, claims_bench.PER_POLICY = POLICIES, PER_POLICY
        ids = claims_bench.build_policies()
        from tests.factories import settlement_source

        settlement_source()
        source = SettlementSource.objects.get(key_id="WW-FEED-1")
        records = claims_bench.records_for(ids)
        with tempfile.TemporaryDirectory() as tmp:
            log = (Path(tmp) / "worker.log").open("ab")
            # The first batch's first policy year is held locked here, so the worker is surely
            # in the middle of a recompute when it is killed.
            with transaction.atomic():
                services.settlements_receive(source=source, records=records[:PER_POLICY])
                transaction.get_connection().run_on_commit.clear()
            first_policy = Settlement.objects.values_list("policy_id", flat=True).first()
            PolicyYear.objects.get_or_create(policy_id=first_policy)
            ready, release = threading.Event(), threading.Event()

            def hold():
                with transaction.atomic():
                    PolicyYear.objects.select_for_update().get(policy_id=first_policy)
                    ready.set()
                    release.wait(DEADLINE)
                connections.close_all()

            holder = threading.Thread(target=hold)
            holder.start()
            ready.wait(30)
            first = worker(name, None, log)
            processes.append(first)
            services.policy_years_enqueue([first_policy])
            for start in range(PER_POLICY, len(records), 500):
                services.settlements_receive(source=source, records=records[start:start + 500])
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = %s", [name])
                    if cursor.fetchone()[0]:
                        break
                time.sleep(0.2)
            kill_all(first)
            release.set()
            holder.join()

            restarted = time.monotonic()
            processes.append(worker(name, Path(tmp) / "beat-schedule", log))
            total = len(records)
            while time.monotonic() - restarted < DEADLINE:
                done = Claim.objects.exclude(state=Claim.RECEIVED).count()
                connection.close()
                if done == total:
                    break
                time.sleep(0.5)
            seconds = time.monotonic() - restarted
            assert Claim.objects.count() == total, "the lost work never came back"
            assert services.policy_years_recompute(policy_ids=list(
                PolicyYear.objects.values_list("policy_id", flat=True))) == 0, "not the serial result"
        print(json.dumps({"name": "recovery.seconds_after_worker_kill", "value": round(seconds, 1), "unit": "s",
                          "settlements": total, "sweep_seconds": 30, "grace_seconds": 30}), flush=True)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        cache.clear()
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
