"""dashboard.p95_ms: the bureau's dashboard with 200,000 policies and 50,000 claims on PostgreSQL, as
served (its figures cached a minute), and dashboard.computed_p95_ms: the same page computing them.

The data is inserted with INSERT ... SELECT generate_series (seconds, not minutes); the page is
then requested 20 times through Django's test client as a bureau viewer (the first, warming the
connection, is not counted) and the 95th percentile printed as one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_REDIS_DB", "14")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

POLICIES = 200_000
CLAIMS = 50_000
REQUESTS = 20
CHANNELS = ["self", "family", "employer", "collective", "campaign", "fund"]


def build() -> int:
    from decimal import Decimal

    import pghistory
    from django.utils import timezone

    from claims.models import SettlementSource
    from enrollment.models import Order, Plan, ProductVersion
    from supervision.models import DistrictPopulation

    version = ProductVersion.objects.get(slug="wuwei-2025")
    plan = Plan.objects.get(version=version, code="basic")
    order = Order.objects.create(number="BENCH", version=version, channel="self", amount=Decimal("0.00"),
                                 status=Order.PAID, expires_at=timezone.now())
    source = SettlementSource.objects.create(code="bench", name="bench", program=version.program, key_id="bench")
    for n, (code, name) in enumerate([("620602", "凉州区"), ("620621", "民勤县"), ("620622", "古浪县"),
                                      ("620623", "天祝县")]):
        DistrictPopulation.objects.create(program=version.program, year=version.year, region_code=code, name=name,
                                          eligible=150_000 - n * 20_000)
    channels = "ARRAY[" + ",".join(f"'{c}'" for c in CHANNELS) + "]"
    # Under a history context, as requests and tasks write: without one, the history triggers
    # catch an "unrecognized configuration parameter" error per row (about 3 ms a row here: the
    # 200,000 policies took over ten minutes).
    with pghistory.context(action="bench_seed", reason="bench/dashboard.py"), connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO enrollment_person (name, id_cipher, id_hash, id_masked, birth_date, sex, region_code, created_at)
            SELECT '参保人', 'bench', md5(i::text), '620602********0000',
                   DATE '1940-01-01' + (i %% 30000), CASE WHEN i %% 2 = 0 THEN 'M' ELSE 'F' END,
                   (ARRAY['620602','620621','620622','620623','620102'])[1 + i %% 5], now()
            FROM generate_series(1, %s) AS i""", [POLICIES])
        cursor.execute(f"""
            INSERT INTO enrollment_policy (number, channel, relation, premium, coverage_start, coverage_end, status,
                created_at, activated_at, order_id, person_id, plan_id, version_id, consecutive_years,
                medical_assistance, insured_region)
            SELECT 'B' || p.id, ({channels})[1 + p.id %% 6], 'self', 69.00, %s, %s, 'active', now(),
                   TIMESTAMPTZ '2025-06-01 10:00+08' + ((p.id %% 30) || ' days')::interval, %s, p.id, %s, %s, 0, false,
                   p.region_code
            FROM enrollment_person p WHERE p.id_cipher = 'bench'""",
                       [version.coverage_start, version.coverage_end, order.pk, plan.pk, version.pk])
        cursor.execute("""
            INSERT INTO claims_settlement (settlement_id, record, content_hash, id_hash, id_masked, name, hospital_code,
                hospital_name, admission_date, settled_at, pre_existing, correction_reason, match_status,
                unmatched_reason, received_at, source_id, policy_id, id_cipher, "window")
            SELECT 'BS' || po.id, '{}'::jsonb, 'x', 'x', 'x', 'x', 'H', '医院', DATE '2025-08-01', now(), false, '',
                   'matched', '', now(), %s, po.id, '', false
            FROM enrollment_policy po WHERE po.number LIKE 'B%%' ORDER BY po.id LIMIT %s""", [source.pk, CLAIMS])
        cursor.execute("""
            INSERT INTO claims_claim (outcome, reason, payout, state, flags, rejection_code, created_at, updated_at,
                policy_id, settlement_id, decision_note, paid_amount)
            SELECT 'accepted', '', 1000.00 + s.id %% 500, CASE WHEN s.id %% 4 = 0 THEN 'approved' ELSE 'paid' END,
                   '{}', '', now(), now(), s.policy_id, s.id, '',
                   CASE WHEN s.id %% 4 = 0 THEN 0 ELSE 1000.00 + s.id %% 500 END
            FROM claims_settlement s WHERE s.source_id = %s""", [source.pk])
        cursor.execute("ANALYZE")
    return version.pk


def main() -> None:
    from django.core.cache import cache
    from django.test import Client

    from enrollment import services as enrollment_services
    from enrollment.models import ProductVersion
    from supervision import selectors
    from tests.factories import login_as, staff_user

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        cache.clear()
        enrollment_services.products_load()
        version_id = build()
        client = Client()
        login_as(client, staff_user("bureau", "医保局监管"))  # signed in, past the second factor
        version = ProductVersion.objects.select_related("program").get(pk=version_id)
        for name, computed in (("dashboard.p95_ms", False), ("dashboard.computed_p95_ms", True)):
            timings = []
            for n in range(REQUESTS + 1):
                if computed:  # the figures computed by this request, not read from the minute's cache
                    selectors.figures_forget(version.program)
                started = time.perf_counter()
                response = client.get("/supervision/", {"version": version_id})
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.status_code
                if n:
                    timings.append(elapsed)
            p95 = statistics.quantiles(timings, n=20)[-1]
            print(json.dumps({"name": name, "value": round(p95), "unit": "ms", "policies": POLICIES,
                              "claims": CLAIMS, "requests": REQUESTS,
                              "figures": "computed each request" if computed else "as served (cached a minute)"}))
    finally:
        cache.clear()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
