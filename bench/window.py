"""window.settle_p99_ms, window.quote_p99_ms and window.settles_per_s: the hospital-window calls over
real HTTP against gunicorn (as README's production section starts it: 2 × cores + 1 sync workers),
20 concurrent callers, with 10,000 policy years of 20 settlements each already in the database
(the state the intake service and the recompute task leave, written set-based: see ``seed``).

Each call is signed (HMAC, timestamp, a fresh nonce kept in Redis) like the platform's. The quote
phase asks for the payout of a new discharge of a random policy year; the settle phase settles a
new discharge (dated after the year's 20) of a random policy year. Throwaway database on the
configured PostgreSQL, Redis database 14; everything started is stopped at the end; gunicorn's log
in var/bench/window-gunicorn.log. Sizes: BENCH_WINDOW_YEARS (10000), BENCH_WINDOW_CALLS (2000).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
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
import servers  # noqa: E402  (bench/servers.py)
from django.db import connection  # noqa: E402

from tests.factories import settlement_record  # noqa: E402

YEARS = int(os.environ.get("BENCH_WINDOW_YEARS", "10000"))
PER_YEAR = 20
CALLS = int(os.environ.get("BENCH_WINDOW_CALLS", "2000"))
CONCURRENCY = 20
WORKERS = 2 * (os.cpu_count() or 1) + 1
DEADLINE = 300.0
SEED_BATCH = 100  # policy years per recompute transaction while seeding (the task takes up to 200)
TEMPLATES = min(YEARS, 200)  # distinct policy years computed by the recompute; the rest are copies
SEED_PROCESSES = max(1, min(2, os.cpu_count() or 1))


def _p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


SETTLEMENT_COLUMNS = ("source_id", "settlement_id", "record", "id_cipher", "content_hash", "id_hash", "id_masked",
                      "name", "hospital_code", "hospital_name", "admission_date", "settled_at", "pre_existing",
                      "correction_reason", "policy_id", "match_status", "unmatched_reason", "received_at", "window")


SEED_CONTEXT = str(uuid.uuid4())


def _seed_session() -> None:
    """The seed's connection runs under one history context, as the recompute task does
    (``pghistory.context``), and with pgtrigger's ignore list set (empty): the history triggers
    then read both settings instead of catching an "unrecognized configuration parameter" error
    for each row, a subtransaction per row that made every tracked insert cost milliseconds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', false), "
                       "set_config('pghistory.context_id', %s, false), "
                       "set_config('pghistory.context_metadata', %s, false)",
                       [SEED_CONTEXT, json.dumps({"action": "bench_seed", "reason": "bench/window.py"})])


def _copy(table: str, columns, rows) -> None:
    names = ", ".join(f'"{column}"' for column in columns)  # "window" is a reserved word
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _record(n: int, i: int, id_number: str, start) -> dict:
    """Settlement ``i`` of policy year ``n``: its amounts are those of template year ``n % TEMPLATES``."""
    day = start + timedelta(days=7 + i * 12)
    return settlement_record(f"F{n}-{i}", id_number=id_number, admission=day.isoformat(),
                             settled=f"{day.isoformat()}T10:00:00+08:00",
                             in_catalog_self_pay=f"{(n % TEMPLATES * 37 + i * 1013) % 9000 + 500}.00")


def _settlements_part(part: tuple[int, list[tuple[int, str, int]]]) -> None:
    """COPY the settlements of some policy years: ``(source id, [(n, ID number, policy id)])``. A
    template year's rows are built by the intake service's own ``_settlement`` from a validated
    record, so they are what the feed would have stored; a copy of template ``n % TEMPLATES`` takes
    that row's parsed fields with its own settlement id, record, content hash, and the person's ID
    encrypted, indexed and masked as ``_settlement`` does."""
    from django.utils import timezone

    from claims.models import Settlement, SettlementSource
    from claims.rules.records import parse_settlement
    from claims.services.intake import _settlement, content_hash
    from enrollment import idnumber
    from enrollment.models import Policy, ProductVersion
    from portal import crypto

    _seed_session()
    source_id, years = part
    source = SettlementSource.objects.get(pk=source_id)
    start, now = ProductVersion.objects.get(slug="wuwei-2025").coverage_start, timezone.now()
    templates: dict[tuple[int, int], Settlement] = {}

    def template(n: int, i: int, id_number: str) -> Settlement:
        key = (n % TEMPLATES, i)
        if key not in templates:
            record = _record(key[0], i, id_number, start)
            templates[key] = _settlement(source, record, parse_settlement(record), content_hash(record), None, "")
        return templates[key]

    def rows():
        for n, id_number, policy_id in years:
            if n < TEMPLATES:
                policy = Policy(pk=policy_id)
                built = []
                for i in range(PER_YEAR):
                    record = _record(n, i, id_number, start)
                    s = _settlement(source, record, parse_settlement(record), content_hash(record), policy, "")
                    built.append((s, s.record, s.content_hash))
                cipher, id_hash, masked = built[0][0].id_cipher, built[0][0].id_hash, built[0][0].id_masked
            else:
                cipher, id_hash, masked = crypto.encrypt(id_number), crypto.blind_index(id_number), idnumber.mask(id_number)
                built = []
                for i in range(PER_YEAR):
                    record = _record(n, i, id_number, start)
                    stored = {key: value for key, value in record.items() if key != "id_number"}
                    built.append((template(n, i, id_number), stored, content_hash(record)))
            for i, (s, stored, digest) in enumerate(built):
                yield (source_id, f"F{n}-{i}", json.dumps(stored, ensure_ascii=False), cipher, digest, id_hash,
                       masked, s.name, s.hospital_code, s.hospital_name, s.admission_date, s.settled_at,
                       s.pre_existing, "", policy_id, Settlement.MATCHED, "", now, False)

    _copy(Settlement._meta.db_table, SETTLEMENT_COLUMNS, rows())
    connection.close()


def _recompute_part(batches: list[list[int]]) -> None:
    """The recompute task's body over some batches of policy years, one transaction each."""
    from claims.services.recompute import policy_years_recompute

    _seed_session()
    for batch in batches:
        policy_years_recompute(policy_ids=batch, reason="")
    connection.close()


def _in_parallel(function, parts) -> None:
    """Each part in its own forked process (its own database connection), SEED_PROCESSES at once."""
    connection.close()  # a child must not share the parent's socket
    with multiprocessing.get_context("fork").Pool(SEED_PROCESSES) as pool:
        pool.map(function, parts, chunksize=1)


def _columns(model, *skip: str) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key and f.column not in skip]


def _clone_years(source_id: int) -> None:
    """Every copy year gets its template year's claims, lines, stages and accumulators, set-based
    (INSERT … SELECT; the history triggers record each row as for the recompute's own inserts)."""
    from django.db import transaction

    from claims.models import Claim, ClaimLine, ClaimStage, PolicyYear

    claim_columns = _columns(Claim, "settlement_id", "policy_id")
    line_columns = _columns(ClaimLine, "claim_id")
    stage_columns = _columns(ClaimStage, "claim_id")
    year_columns = _columns(PolicyYear, "policy_id")

    def listed(columns, alias=""):
        return ", ".join(f'{alias}"{column}"' for column in columns)

    _seed_session()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            CREATE TEMP TABLE seed_map ON COMMIT DROP AS
            SELECT s.id AS settlement, s.policy_id AS policy, t.id AS template, t.policy_id AS template_policy
              FROM claims_settlement s
              JOIN claims_settlement t ON t.source_id = s.source_id
               AND t.settlement_id = 'F' || (split_part(substr(s.settlement_id, 2), '-', 1)::int %% %(k)s)
                                     || '-' || split_part(s.settlement_id, '-', 2)
             WHERE s.source_id = %(source)s AND split_part(substr(s.settlement_id, 2), '-', 1)::int >= %(k)s
            """, {"k": TEMPLATES, "source": source_id})
        cursor.execute("ANALYZE seed_map")  # a temporary table has no statistics until analysed
        cursor.execute(f"""
            INSERT INTO claims_claim (settlement_id, policy_id, {listed(claim_columns)})
            SELECT m.settlement, m.policy, {listed(claim_columns, "c.")}
              FROM seed_map m JOIN claims_claim c ON c.settlement_id = m.template""")
        cursor.execute("""
            CREATE TEMP TABLE seed_claims ON COMMIT DROP AS
            SELECT n.id AS claim, c.id AS template
              FROM seed_map m JOIN claims_claim n ON n.settlement_id = m.settlement
              JOIN claims_claim c ON c.settlement_id = m.template""")
        cursor.execute("ANALYZE seed_claims")
        cursor.execute(f"""
            INSERT INTO claims_claimline (claim_id, {listed(line_columns)})
            SELECT m.claim, {listed(line_columns, "l.")}
              FROM seed_claims m JOIN claims_claimline l ON l.claim_id = m.template ORDER BY l.id""")
        cursor.execute(f"""
            INSERT INTO claims_claimstage (claim_id, {listed(stage_columns)})
            SELECT m.claim, {listed(stage_columns, "g.")}
              FROM seed_claims m JOIN claims_claimstage g ON g.claim_id = m.template ORDER BY g.id""")
        cursor.execute(f"""
            INSERT INTO claims_policyyear (policy_id, {listed(year_columns)})
            SELECT m.policy, {listed(year_columns, "y.")}
              FROM (SELECT DISTINCT policy, template_policy FROM seed_map) m
              JOIN claims_policyyear y ON y.policy_id = m.template_policy""")


def _check_copies(policy_ids: list[int]) -> int:
    """The recompute over some copy years writes nothing and leaves their accumulators as they were:
    the copied state is the recompute's own. Returns how many years were checked."""
    from claims.models import Claim, PolicyYear
    from claims.services.recompute import policy_years_recompute

    fields = ("policy_id", "deductible_used", "band_position", "cumulative", "paid", "revision")

    def state():
        return (sorted(PolicyYear.objects.filter(policy_id__in=policy_ids).values_list(*fields)),
                sorted(Claim.objects.filter(policy_id__in=policy_ids).values_list("settlement_id", "payout", "state")))

    before = state()
    written = policy_years_recompute(policy_ids=policy_ids, reason="")
    if written or state() != before or len(before[0]) != len(policy_ids):
        raise SystemExit(f"copied policy years differ from the recompute's: {written} lines written")
    return len(policy_ids)


def seed() -> tuple[list[str], dict]:
    """YEARS active policies with PER_YEAR settlements each, set-based. Persons and policies by
    multi-row INSERT; the settlements by COPY (see ``_settlements_part``); the first TEMPLATES
    policy years through the recompute (``policy_years_recompute``, the task's body, in batches of
    SEED_BATCH); every other year is a copy of template ``n % TEMPLATES`` (same amounts and dates,
    its own person, ID and settlement ids), its claims, lines, stages and accumulators copied in
    SQL, and a sample of copies recomputed to prove the recompute writes nothing on them. The
    database the window reads is the one the feed and the task would leave. Settlements and
    recompute run in SEED_PROCESSES processes, with Python's cyclic garbage collector off while
    seeding (it took half the time and frees nothing here). Returns the ID numbers and the seconds
    of each step."""
    from django.utils import timezone

    from enrollment.models import Channel, Order, Person, Plan, Policy
    from tests.factories import make_id, settlement_source

    gc.disable()
    try:
        timings, started = {}, time.perf_counter()
        source = settlement_source()
        plan = Plan.objects.select_related("version").get(version__slug="wuwei-2025", code="basic")
        version, now = plan.version, timezone.now()
        ids = [make_id(f"620622{1940 + n // 336}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}008") for n in range(YEARS)]
        people = []
        for n, id_number in enumerate(ids):
            person = Person(name=f"窗口{n}")
            person.set_id_number(id_number)
            people.append(person)
        Person.objects.bulk_create(people, batch_size=2000)
        order = Order.objects.create(number=f"BENCHW{secrets.token_hex(6)}", version=version, channel=Channel.SELF,
                                     amount=Decimal("0.00"), status=Order.PAID,
                                     expires_at=now + timedelta(minutes=30))
        policies = Policy.objects.bulk_create([
            Policy(number=f"BW{n:08d}", person=person, version=version, plan=plan, order=order,
                   channel=Channel.SELF, premium=Decimal("39.00"), coverage_start=version.coverage_start,
                   coverage_end=version.coverage_end, status=Policy.ACTIVE, activated_at=now)
            for n, person in enumerate(people)], batch_size=2000)
        timings["seconds_people_and_policies"] = time.perf_counter() - started

        started = time.perf_counter()
        years = [(n, id_number, policy.pk) for n, (id_number, policy) in enumerate(zip(ids, policies, strict=True))]
        step = -(-len(years) // SEED_PROCESSES)
        _in_parallel(_settlements_part, [(source.pk, years[i:i + step]) for i in range(0, len(years), step)])
        timings["seconds_settlements"] = time.perf_counter() - started

        started = time.perf_counter()
        pks = [p.pk for p in policies[:TEMPLATES]]
        batches = [pks[i:i + SEED_BATCH] for i in range(0, len(pks), SEED_BATCH)]
        _in_parallel(_recompute_part, [batches[i::SEED_PROCESSES] for i in range(SEED_PROCESSES)])
        timings["seconds_recompute_templates"] = time.perf_counter() - started

        started = time.perf_counter()
        copies = [p.pk for p in policies[TEMPLATES:]]
        if copies:
            _clone_years(source.pk)
            timings["seconds_copy_years"] = time.perf_counter() - started
            sample = copies[::max(1, len(copies) // SEED_BATCH)][:SEED_BATCH]
            started = time.perf_counter()
            timings["copies_checked"] = _check_copies(sample)
            timings["seconds_check"] = time.perf_counter() - started
    finally:
        gc.enable()
    return ids, {k: round(v, 1) if isinstance(v, float) else v for k, v in timings.items()}


def start_gunicorn(database: str):
    port = servers.free_port()
    servers.LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = (servers.LOG_DIR / "window-gunicorn.log").open("wb")
    url = f"http://127.0.0.1:{port}"
    process = servers.gunicorn(port, WORKERS, servers.environment(database, PUBLIC_BASE_URL=url), log)
    try:
        servers.wait_live(url, process)
    except SystemExit:
        process.kill()
        raise
    return process, log, url


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
        ids, seed_steps = seed()
        seeded = time.perf_counter() - started
        print(json.dumps({"name": "window.seed_seconds", "value": round(seeded, 1), "unit": "s",
                          "policy_years": YEARS, "settlements": YEARS * PER_YEAR, **seed_steps}), flush=True)
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
