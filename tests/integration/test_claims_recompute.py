"""Adjudication of a policy year: the whole year recomputed, only the difference written."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from claims import services
from claims.models import Claim, ClaimLine, PolicyYear
from claims.tasks import recompute_policy_year
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    return active_policy(make_resident())


@pytest.fixture
def source(policy):
    return settlement_source()


def receive(source, *records):
    for record in records:
        assert services.settlement_receive(source=source, record=record).status == "accepted"


def test_the_task_computes_claims_with_the_rules(policy, source):
    receive(source, settlement_record("S1"), settlement_record(
        "S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01", in_catalog_self_pay=0,
        out_of_catalog="40000.00"))
    assert recompute_policy_year.run(policy.pk) == 2
    claims = {c.settlement.settlement_id: c for c in Claim.objects.select_related("settlement")}
    assert claims["S1"].payout == Decimal("5400.00") and claims["S2"].payout == Decimal("16600.00")
    assert claims["S1"].state == Claim.APPROVED  # below the automatic limit, not flagged
    assert claims["S2"].state == Claim.PENDING_REVIEW  # above 10,000.00: a reviewer decides
    year = PolicyYear.objects.get(policy=policy)
    assert year.deductible_used == {"hospital": "12000.00"} and year.band_position == Decimal("58000.00")
    assert ClaimLine.objects.get(claim=claims["S1"]).explanation.startswith("医保目录内住院医疗费用")


def test_running_twice_changes_nothing(policy, source):
    receive(source, settlement_record("S1"))
    assert services.policy_year_recompute(policy_id=policy.pk) == 1
    assert services.policy_year_recompute(policy_id=policy.pk) == 0
    assert ClaimLine.objects.count() == 1


def test_a_late_earlier_settlement_becomes_adjustments_never_edits(policy, source):
    receive(source, settlement_record("S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01",
                                      in_catalog_self_pay="30000.00"))
    services.policy_year_recompute(policy_id=policy.pk)
    first = ClaimLine.objects.get()
    assert first.payout == Decimal("5400.00")
    # An earlier stay arrives late: it takes the deductible; S2 now pays more.
    receive(source, settlement_record("S1", settled="2025-08-09T10:00:00+08:00", in_catalog_self_pay="12000.00"))
    services.policy_year_recompute(policy_id=policy.pk)
    first.refresh_from_db()
    assert first.payout == Decimal("5400.00")  # the recorded line is untouched
    s2 = Claim.objects.get(settlement__settlement_id="S2")
    adjustment = s2.lines.get(kind=ClaimLine.ADJUSTMENT)
    # 30,000 now all after the deductible: 20,000 x 30% + 10,000 x 40% = 10,000 (was 5,400)
    assert adjustment.payout == Decimal("4600.00")
    assert s2.payout == sum(line.payout for line in s2.lines.all()) == Decimal("10000.00")


def test_a_reversal_takes_the_payout_back_by_adjustment(policy, source):
    receive(source, settlement_record("S1"))
    services.policy_year_recompute(policy_id=policy.pk)
    services.settlement_reverse(source=source, settlement_id="S1")
    services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get()
    assert [line.payout for line in claim.lines.order_by("id")] == [Decimal("5400.00"), Decimal("-5400.00")]
    assert claim.payout == Decimal("0.00")


def test_a_correction_replaces_the_old_settlement(policy, source):
    receive(source, settlement_record("S1"))
    services.policy_year_recompute(policy_id=policy.pk)
    receive(source, {**settlement_record("S1-R", in_catalog_self_pay="22000.00"), "reverses": "S1"})
    services.policy_year_recompute(policy_id=policy.pk)
    payouts = {c.settlement.settlement_id: c.payout for c in Claim.objects.select_related("settlement")}
    assert payouts == {"S1": Decimal("0.00"), "S1-R": Decimal("3000.00")}


def test_a_settlement_the_rules_do_not_cover_is_rejected_with_its_reason(policy, source):
    record = settlement_record("S1")
    record["hospital_level"] = 1
    receive(source, record)
    services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get()
    assert (claim.state, claim.rejection_code, claim.payout) == (Claim.REJECTED, "not_covered", Decimal("0.00"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_recomputations_give_the_serial_result(products):
    roster(SELF_ID, "张桂兰")
    policy = active_policy(make_resident())
    source = settlement_source()
    receive(source, *[settlement_record(f"S{i}", settled=f"2025-08-{10 + i:02d}T10:00:00+08:00",
                                        in_catalog_self_pay="15000.00") for i in range(6)])

    def run(_):
        try:
            return services.policy_year_recompute(policy_id=policy.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        written = list(pool.map(run, range(6)))
    assert sorted(written) == [0, 0, 0, 0, 0, 6]
    total = sum(line.payout for line in ClaimLine.objects.all())
    # 90,000 - 12,000 = 78,000: 20,000 x 30% + 30,000 x 40% + 28,000 x 50%
    assert total == Decimal("32000.00")


def _policies_with_settlements(source, count, offset):
    from tests.factories import make_id, sold_policy

    policies = []
    for n in range(offset, offset + count):
        id_number = make_id(f"6206021975052{n:04d}")
        policies.append(sold_policy("wuwei-2025", f"参保人{n}", id_number, number=f"B{n:05d}"))
        receive(source, settlement_record(f"A{n}", id_number=id_number, in_catalog_self_pay=f"{20000 + n * 100}.00"),
                settlement_record(f"B{n}", id_number=id_number, settled="2025-10-10T09:00:00+08:00",
                                  admission="2025-10-01", in_catalog_self_pay="30000.00"))
    return [p.pk for p in policies]


def test_a_batch_of_policy_years_in_constant_queries_gives_each_years_result(products):
    """Issue 18: the recompute task processes many policy years per transaction."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    source = settlement_source()
    few, many = _policies_with_settlements(source, 2, 0), _policies_with_settlements(source, 8, 10)
    with transaction.atomic():
        for pk in few + many:
            services.policy_year_recompute(policy_id=pk)
        alone = {c.settlement.settlement_id: (c.payout, c.state) for c in Claim.objects.select_related("settlement")}
        transaction.set_rollback(True)
    assert not Claim.objects.exists() and len(alone) == 20

    with CaptureQueriesContext(connection) as small:
        assert services.policy_years_recompute(policy_ids=few) > 0
    with CaptureQueriesContext(connection) as large:
        assert services.policy_years_recompute(policy_ids=list(reversed(many))) > 0
    assert len(large.captured_queries) == len(small.captured_queries)
    locks = [q["sql"] for q in large.captured_queries if "FOR UPDATE" in q["sql"] and "policyyear" in q["sql"]]
    assert len(locks) == 1 and 'ORDER BY "claims_policyyear"."policy_id" ASC' in locks[0]
    batched = {c.settlement.settlement_id: (c.payout, c.state) for c in Claim.objects.select_related("settlement")}
    assert batched == alone
    assert services.policy_years_recompute(policy_ids=few + many) == 0  # nothing left to write
