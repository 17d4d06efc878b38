"""intake.records_per_s and adjudicate.task_ratio_to_engine, on PostgreSQL and Redis.

- intake.records_per_s: signed batches of 500 records through the whole API view (signature,
  nonce in Redis, validation, matching, storage, the task enqueued on commit) into PostgreSQL.
- adjudicate.task_ratio_to_engine: settlements per second through the Celery task's body (lock,
  read, engine, write the difference; batches of 200 policy years) over the same policy years,
  divided by the pure engine's rate on the same settlements in the same run.
- adjudicate.settlements_per_s: settlements per second through the recompute task with all its
  database work, over 10,000 policy years (two settlements each, received through the intake
  service), in the task's batches of 200 policy years.

Runs in a throwaway database on the configured server (like the test suite) and its own Redis
database (14); prints one JSON line per figure.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_REDIS_DB", "14")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

POLICIES = 200
PER_POLICY = 10
BATCH = 500


def build_policies():
    from django.utils import timezone

    from enrollment import services
    from enrollment.models import Channel, Order, Plan, Policy
    from tests.factories import make_id

    plan = Plan.objects.select_related("version").get(version__slug="wuwei-2025", code="basic")
    version = plan.version
    ids = [make_id(f"620602197001{n // 28 + 1:02d}{n % 28 + 1:02d}"[:14] + f"{n % 1000:03d}") for n in range(POLICIES)]
    ids = list(dict.fromkeys(ids))
    people = [services.person_get_or_create(name=f"参保人{n}", id_number=i) for n, i in enumerate(ids)]
    now = timezone.now()
    order = Order.objects.create(number=f"BENCH{secrets.token_hex(6)}", version=version, channel=Channel.SELF,
                                 amount=Decimal("0.00"), status=Order.PAID, expires_at=now + timedelta(minutes=30))
    Policy.objects.bulk_create([
        Policy(number=f"BP{n:08d}", person=person, version=version, plan=plan, order=order, channel=Channel.SELF,
               premium=Decimal("39.00"), coverage_start=version.coverage_start,
               coverage_end=version.coverage_end, status=Policy.ACTIVE, activated_at=now)
        for n, person in enumerate(people)
    ])
    return ids


def records_for(ids):
    from tests.factories import settlement_record

    out = []
    for p, id_number in enumerate(ids):
        for i in range(PER_POLICY):
            day = 1 + (i * 30) % 300
            out.append(settlement_record(
                f"B{p}-{i}", id_number=id_number,
                settled=f"2025-{7 + day // 60:02d}-{1 + day % 28:02d}T10:00:00+08:00",
                admission=f"2025-{7 + day // 60:02d}-{1 + day % 28:02d}",
                in_catalog_self_pay=f"{(p * 37 + i * 1013) % 40000 + 500}.00"))
    return out


def intake(records) -> float:
    from django.test import Client

    from claims.api import signature
    from tests.factories import settlement_source

    settlement_source()
    client = Client()
    started = time.perf_counter()
    for start in range(0, len(records), BATCH):
        body = json.dumps({"records": records[start:start + BATCH]}, ensure_ascii=False).encode()
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        response = client.post("/api/v1/settlements", data=body, content_type="application/json",
                               HTTP_X_KEY_ID="WW-FEED-1", HTTP_X_TIMESTAMP=timestamp, HTTP_X_NONCE=nonce,
                               HTTP_X_SIGNATURE=signature("feed-secret", "POST", "/api/v1/settlements", timestamp,
                                                          nonce, body))
        assert response.status_code == 200 and response.json()["counts"]["accepted"] == len(records[start:start + BATCH])
    return len(records) / (time.perf_counter() - started)


def run_task(policy_ids) -> None:
    from claims.services.recompute import RECOMPUTE_BATCH
    from claims.tasks import recompute_policy_years

    for start in range(0, len(policy_ids), RECOMPUTE_BATCH):
        recompute_policy_years.run(policy_ids[start:start + RECOMPUTE_BATCH])


def task_and_engine(records) -> tuple[float, float]:
    from claims import services
    from claims.rules.engine import adjudicate_year
    from claims.rules.records import parse_settlement
    from enrollment import selectors
    from enrollment.models import Policy

    policies = list(Policy.objects.filter(number__startswith="BP").select_related("person", "plan__version"))
    started = time.perf_counter()
    run_task(sorted(p.pk for p in policies))
    task_rate = len(records) / (time.perf_counter() - started)

    plan = selectors.plan_with_config(product="wuwei-2025", plan="basic")
    config = selectors.benefit_config(plan)
    by_id: dict[str, list] = {}
    for record in records:
        by_id.setdefault(record["id_number"], []).append(parse_settlement(record))
    facts = {p.person.id_number: services._facts(p) for p in policies}
    started = time.perf_counter()
    for id_number, items in by_id.items():
        adjudicate_year(config, facts[id_number], [replace(s) for s in items])
    engine_rate = len(records) / (time.perf_counter() - started)
    return task_rate, engine_rate


YEARS = int(os.environ.get("BENCH_POLICY_YEARS", "10000"))


def many_years() -> float:
    """10,000 policy years with two settlements each, then the recompute task over all of them."""
    from django.utils import timezone

    from claims import services
    from claims.models import Claim, SettlementSource
    from enrollment import services as enrollment_services
    from enrollment.models import Channel, Order, Plan, Policy
    from tests.factories import make_id, settlement_record

    plan = Plan.objects.select_related("version").get(version__slug="wuwei-2025", code="basic")
    version, now = plan.version, timezone.now()
    ids = [make_id(f"620621{1950 + n // 336}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}007") for n in range(YEARS)]
    people = [enrollment_services.person_get_or_create(name=f"年度{n}", id_number=i) for n, i in enumerate(ids)]
    order = Order.objects.create(number=f"BENCHY{secrets.token_hex(6)}", version=version, channel=Channel.SELF,
                                 amount=Decimal("0.00"), status=Order.PAID, expires_at=now + timedelta(minutes=30))
    policies = Policy.objects.bulk_create([
        Policy(number=f"BY{n:08d}", person=person, version=version, plan=plan, order=order, channel=Channel.SELF,
               premium=Decimal("39.00"), coverage_start=version.coverage_start, coverage_end=version.coverage_end,
               status=Policy.ACTIVE, activated_at=now)
        for n, person in enumerate(people)])
    source = SettlementSource.objects.get(key_id="WW-FEED-1")
    records = [settlement_record(f"Y{n}-{i}", id_number=id_number,
                                 settled=f"2025-{8 + i * 2:02d}-{1 + n % 28:02d}T10:00:00+08:00",
                                 admission=f"2025-{8 + i * 2:02d}-{1 + n % 28:02d}",
                                 in_catalog_self_pay=f"{(n * 37 + i * 1013) % 40000 + 500}.00")
               for n, id_number in enumerate(ids) for i in range(2)]
    for start in range(0, len(records), 1000):
        services.settlements_receive(source=source, records=records[start:start + 1000])
    started = time.perf_counter()
    run_task(sorted(p.pk for p in policies))
    elapsed = time.perf_counter() - started
    assert Claim.objects.filter(policy__number__startswith="BY").count() == len(records)
    return len(records) / elapsed


def main() -> None:
    from django.core.cache import cache

    from enrollment import services as enrollment_services

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        cache.clear()
        enrollment_services.products_load()
        ids = build_policies()
        records = records_for(ids)
        rate = intake(records)
        print(json.dumps({"name": "intake.records_per_s", "value": round(rate), "unit": "records/s"}))
        task_rate, engine_rate = task_and_engine(records)
        print(json.dumps({"name": "adjudicate.task_ratio_to_engine", "value": round(task_rate / engine_rate, 3),
                          "unit": "ratio", "task_settlements_per_s": round(task_rate),
                          "engine_settlements_per_s": round(engine_rate)}))
        print(json.dumps({"name": "adjudicate.settlements_per_s", "value": round(many_years()),
                          "unit": "settlements/s", "policy_years": YEARS}))
    finally:
        cache.clear()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
