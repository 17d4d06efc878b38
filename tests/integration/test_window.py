"""Settling at the hospital window: quote, settle, reverse, against hand-computed figures (Wuwei
basic: 12,000 deductible; bands 30% to 20,000, 40% to 50,000, 50% above)."""

from decimal import Decimal

import pytest
import time_machine

from claims import services
from claims.models import Claim, ClaimLine, PolicyYear, Settlement, WindowSettlement
from claims.services.window import WindowRefused, window_quote, window_reverse, window_settle
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    return active_policy(make_resident())


@pytest.fixture
def source(policy):
    return settlement_source()


def s1():  # 30,000 in catalog: 12,000 deductible, 18,000 × 30% = 5,400.00
    return settlement_record("S1")


def s2():  # 40,000 out of catalog after S1: 2,000 × 30% + 30,000 × 40% + 8,000 × 50% = 16,600.00
    return settlement_record("S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01",
                             in_catalog_self_pay=0, out_of_catalog="40000.00")


def lines_total(policy):
    return sum(ClaimLine.objects.filter(claim__policy=policy).values_list("payout", flat=True), D("0.00"))


def test_a_quote_explains_each_line_and_the_patients_part_and_writes_nothing(source, policy):
    answer = window_quote(source=source, record=s1())
    assert answer["status"] == "quoted" and answer["outcome"] == "accepted"
    assert answer["payout"] == "5400.00" and answer["own_part"] == "31000.00" and answer["patient_pays"] == "25600.00"
    [line] = answer["lines"]
    assert line["responsibility"] == "in_catalog" and line["deductible"] == "12000.00"
    assert "扣除免赔额12,000.00元" in line["explanation"] and "按30%" in line["explanation"]
    assert answer["explanation"].startswith("本保险赔付5400.00元")
    assert not Settlement.objects.exists() and not PolicyYear.objects.exists() and not Claim.objects.exists()


def test_settling_fixes_the_payout_and_moves_the_year_as_the_engine_says(source, policy):
    first = window_settle(source=source, record=s1())
    assert first["status"] == "settled" and first["payout"] == "5400.00" and first["patient_pays"] == "25600.00"
    year = PolicyYear.objects.get(policy=policy)
    assert year.deductible_used == {"hospital": "12000.00"} and year.band_position == D("18000.00")
    # The next quote starts where the year now stands.
    assert window_quote(source=source, record=s2())["payout"] == "16600.00"
    second = window_settle(source=source, record=s2())
    assert second["payout"] == "16600.00" and second["patient_pays"] == "24400.00"
    claims = {c.settlement.settlement_id: c for c in Claim.objects.select_related("settlement")}
    # Settled at the window: approved by the rules (no review even above 10,000), waiting for clearing.
    assert {c.state for c in claims.values()} == {Claim.APPROVED}
    assert claims["S2"].payout == D("16600.00") and claims["S2"].flags == []
    assert WindowSettlement.objects.get(number="S2").payout == D("16600.00")
    assert services.policy_year_recompute(policy_id=policy.pk) == 0  # the recompute agrees: nothing to write


def test_the_same_settle_again_answers_the_same_and_changed_content_is_a_conflict(source, policy):
    first = window_settle(source=source, record=s1())
    assert window_settle(source=source, record=s1()) == first
    assert Settlement.objects.count() == 1 and WindowSettlement.objects.count() == 1
    with pytest.raises(WindowRefused) as refused:
        window_settle(source=source, record=settlement_record("S1", in_catalog_self_pay="31000.00"))
    assert refused.value.status == 409 and refused.value.errors[0].field == "settlement_id"
    assert refused.value.errors[0].code == "conflict"
    assert ClaimLine.objects.count() == 1


def test_a_record_for_nobody_insured_is_refused_by_field_and_changes_nothing(source):
    with pytest.raises(WindowRefused) as refused:
        window_settle(source=source, record=settlement_record("X1", admission="2024-08-01"))
    assert (refused.value.errors[0].field, refused.value.errors[0].code) == ("admission_date", "outside_coverage")
    bad = s1()
    bad["amounts"]["in_catalog_self_pay"] = "-1"
    with pytest.raises(WindowRefused) as refused:
        window_settle(source=source, record=bad)
    assert refused.value.status == 422 and refused.value.errors[0].field == "amounts.in_catalog_self_pay"
    assert not Settlement.objects.exists()


def test_a_feed_record_dated_before_a_window_settlement_becomes_an_adjustment(source, policy):
    # S2 alone: 28,000 after the deductible: 20,000 × 30% + 8,000 × 40% = 9,200.00, fixed at the window.
    assert window_settle(source=source, record=s2())["payout"] == "9200.00"
    feed = settlement_source(key_id="WW-FEED-2")
    services.settlement_receive(source=feed, record=s1())
    services.policy_year_recompute(policy_id=policy.pk)
    window_claim = Claim.objects.get(settlement__settlement_id="S2")
    lines = list(window_claim.lines.order_by("pk").values_list("kind", "payout"))
    assert lines == [(ClaimLine.ORIGINAL, D("9200.00")), (ClaimLine.ADJUSTMENT, D("7400.00"))]
    assert WindowSettlement.objects.get(number="S2").payout == D("9200.00")  # never rewritten
    assert lines_total(policy) == D("22000.00")  # 5,400 + 16,600: the engine's year


def test_reversing_takes_the_payout_back_and_adjusts_the_rest_of_the_year(source, policy):
    window_settle(source=source, record=s1())
    window_settle(source=source, record=s2())
    answer = window_reverse(source=source, settlement_id="S1")
    # S2 alone pays 9,200.00: 16,600.00 − 7,400.00.
    assert answer["payout_reversed"] == "5400.00"
    assert answer["adjustments"] == [{"settlement_id": "S2", "at_window": True, "amount": "-7400.00"}]
    assert window_reverse(source=source, settlement_id="S1") == answer  # again: the same answer
    assert Claim.objects.get(settlement__settlement_id="S1").payout == D("0.00")
    assert lines_total(policy) == D("9200.00")
    with pytest.raises(WindowRefused) as refused:
        window_settle(source=source, record=s1())
    assert refused.value.errors[0].code == "reversed"
    with pytest.raises(WindowRefused) as refused:
        window_reverse(source=source, settlement_id="NOPE")
    assert refused.value.status == 404


def test_window_claims_are_cleared_with_the_hospital_not_paid_in_payout_batches(source, policy):
    from claims.services.review import ReviewRefused
    from tests.factories import staff_user

    window_settle(source=source, record=s1())
    user = staff_user("payer", "理赔复核人")
    with pytest.raises(ReviewRefused):
        services.payout_batch_create(program=policy.version.program, user=user)


def test_the_window_day_is_the_day_of_the_call(source):
    with time_machine.travel("2025-08-09 23:59:00 +08:00", tick=False):
        window_settle(source=source, record=s1())
    assert str(WindowSettlement.objects.get().day) == "2025-08-09"


def test_a_quote_leaves_out_a_settlement_a_reviewer_rejected_as_the_recompute_does(source, policy):
    """One rule for which settlements count (``claims.selectors.settlement_counts``): S1 from the feed,
    rejected by a reviewer, no longer uses the deductible, so S2's 40,000 pays 12,000 deductible,
    20,000 × 30% + 8,000 × 40% = 9,200.00, at the quote and in the recompute alike."""
    from tests.factories import staff_user

    services.settlement_receive(source=source, record=s1())
    services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get(settlement__settlement_id="S1")
    services.claim_reject(claim_id=claim.pk, user=staff_user("reviewer", "理赔审核员"), code="fraud_suspected",
                          note="票据存疑")
    assert window_quote(source=source, record=s2())["payout"] == "9200.00"
    assert window_settle(source=source, record=s2())["payout"] == "9200.00"
    assert services.policy_year_recompute(policy_id=policy.pk) == 0
