"""Clearing window payouts with the hospitals, and reconciling with the platform, against
hand-computed figures (Wuwei basic: S1 pays 5,400.00; S2 after S1 16,600.00, alone 9,200.00)."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from claims import selectors, services
from claims.models import Claim, ClearingStatement, Reconciliation
from claims.services.clearing import (
    clearing_batch_create,
    clearing_batch_paid,
    clearing_statements_build,
    window_reconcile,
)
from claims.services.review import ReviewRefused
from claims.services.window import WindowRefused, window_reverse, window_settle
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def resident(products):
    roster(SELF_ID, "张桂兰")
    resident = make_resident()
    active_policy(resident)
    return resident


@pytest.fixture
def source(resident):
    return settlement_source()


def at(moment):
    return time_machine.travel(moment, tick=False)


def s1():
    return settlement_record("S1")  # 武威市人民医院 H620600001


def s2():
    record = settlement_record("S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01",
                               in_catalog_self_pay=0, out_of_catalog="40000.00")
    record.update(hospital_code="H620600002", hospital_name="武威市中医医院")
    return record


@pytest.fixture
def year(source):
    """Aug 9: S1 at hospital 1 (5,400.00). Oct 10: S2 at hospital 2 (16,600.00). Oct 11: S1 reversed:
    S2 alone pays 9,200.00, so hospital 2 gets an adjustment of −7,400.00."""
    with at("2025-08-09 10:00 +08:00"):
        window_settle(source=source, record=s1())
    with at("2025-10-10 09:05 +08:00"):
        window_settle(source=source, record=s2())
    with at("2025-10-11 15:00 +08:00"):
        window_reverse(source=source, settlement_id="S1")
    with at("2025-10-12 01:00 +08:00"):
        for day in (date(2025, 8, 9), date(2025, 10, 10), date(2025, 10, 11)):
            clearing_statements_build(day=day)
    return source


def figures(statement):
    return (statement.day.isoformat(), statement.hospital_code, statement.settlements, statement.payouts,
            statement.reversals_count, statement.reversals, statement.adjustments, statement.total)


def test_each_hospital_and_day_has_its_statement(year):
    statements = sorted(ClearingStatement.objects.all(), key=lambda s: (s.day, s.hospital_code))
    assert [figures(s) for s in statements] == [
        ("2025-08-09", "H620600001", 1, D("5400.00"), 0, D("0.00"), D("0.00"), D("5400.00")),
        ("2025-10-10", "H620600002", 1, D("16600.00"), 0, D("0.00"), D("0.00"), D("16600.00")),
        ("2025-10-11", "H620600001", 0, D("0.00"), 1, D("-5400.00"), D("0.00"), D("-5400.00")),
        ("2025-10-11", "H620600002", 0, D("0.00"), 0, D("0.00"), D("-7400.00"), D("-7400.00")),
    ]
    with at("2025-10-12 02:00 +08:00"):
        clearing_statements_build(day=date(2025, 10, 11))  # again: nothing changes
    assert ClearingStatement.objects.count() == 4


def test_a_day_not_over_has_no_statement(source):
    with at("2025-08-09 10:00 +08:00"), pytest.raises(ReviewRefused):
        clearing_statements_build(day=date(2025, 8, 9))


def test_the_batch_pays_the_hospitals_and_clears_the_claims(year):
    user = staff_user("payer", "理赔复核人")
    batch = clearing_batch_create(source=year, user=user)
    assert batch.total == D("9200.00")  # 5,400 + 16,600 − 5,400 − 7,400
    rows = selectors.clearing_rows(ClearingStatement.objects.filter(batch=batch))
    assert [(r[0], r[1], r[3], r[6], r[8]) for r in rows] == [
        ("2025-08-09", "H620600001", "S1", "1", D("5400.00")),
        ("2025-10-10", "H620600002", "S2", "1", D("16600.00")),
        ("2025-10-11", "H620600001", "S1", "2", D("-5400.00")),
        ("2025-10-11", "H620600002", "S2", "3", D("-7400.00")),
    ]
    assert rows[0][5] == SELF_ID[:6] + "********" + SELF_ID[-4:]  # masked
    assert "fixmedins_code" in selectors.clearing_csv(ClearingStatement.objects.all()).decode("utf-8-sig")
    clearing_batch_paid(batch_id=batch.pk, user=user)
    s2_claim = Claim.objects.get(settlement__settlement_id="S2")
    assert (s2_claim.payout, s2_claim.paid_amount, s2_claim.state) == (D("9200.00"), D("9200.00"), Claim.PAID)
    assert Claim.objects.get(settlement__settlement_id="S1").paid_amount == D("0.00")
    assert set(ClearingStatement.objects.values_list("status", flat=True)) == {ClearingStatement.PAID}
    with pytest.raises(ReviewRefused):
        clearing_batch_paid(batch_id=batch.pk, user=user)


def test_a_late_feed_record_is_a_positive_adjustment_for_the_hospital(source):
    with at("2025-10-10 09:05 +08:00"):
        assert window_settle(source=source, record=s2())["payout"] == "9200.00"
    with at("2025-10-20 11:00 +08:00"):
        services.settlement_receive(source=settlement_source(key_id="WW-FEED-2"), record=s1())
        services.policy_years_recompute(policy_ids=[Claim.objects.get().policy_id])
    with at("2025-10-21 01:00 +08:00"):
        [statement] = clearing_statements_build(day=date(2025, 10, 20))
    assert figures(statement) == ("2025-10-20", "H620600002", 0, D("0.00"), 0, D("0.00"), D("7400.00"), D("7400.00"))


def test_reconciliation_lists_every_difference(year):
    with at("2025-10-12 09:00 +08:00"):
        same = window_reconcile(source=year, payload={
            "hospital_code": "H620600001", "day": "2025-10-11", "totals": {"count": 1, "amount": "-5400.00"},
            "detail": [{"settlement_id": "S1", "type": "reverse", "amount": "-5400.00"}]})
        assert same["matched"] and same["differences"] == []
        differs = window_reconcile(source=year, payload={
            "hospital_code": "H620600001", "day": "2025-08-09", "totals": {"count": 2, "amount": "5500.00"},
            "detail": [{"settlement_id": "S1", "type": "settle", "amount": "5500.00"},
                       {"settlement_id": "S9", "type": "settle", "amount": "0.00"}]})
    assert differs["totals"]["ours"] == {"count": 1, "amount": "5400.00"} and not differs["totals"]["match"]
    assert [(d["settlement_id"], d["difference"], d["platform"], d["ours"]) for d in differs["differences"]] == [
        ("S1", "amount_differs", "5500.00", "5400.00"), ("S9", "missing_here", "0.00", None)]
    kept = Reconciliation.objects.get(day=date(2025, 8, 9))
    assert not kept.matched and len(kept.differences) == 2
    with at("2025-10-12 09:00 +08:00"), pytest.raises(WindowRefused) as refused:
        window_reconcile(source=year, payload={"hospital_code": "H1", "day": "2025-10-11",
                                               "totals": {"count": 1, "amount": 5.5}})
    assert refused.value.errors[0].field == "totals.amount"


def test_the_resident_sees_what_was_settled_at_the_hospital(client, resident, source):
    window_settle(source=source, record=s1())
    client.force_login(resident.user)
    html = client.get("/claims/").content.decode()
    assert "已在医院直接结算 5,400.00 元" in html and "个人实付 25,600.00 元" in html
    assert "扣除免赔额12,000.00元" in html


def test_paying_the_batch_is_the_cleared_stage_on_the_claim_page_with_an_sms(
        client, resident, year, django_capture_on_commit_callbacks):
    """S2 (16,600.00 then −7,400.00) is cleared for 9,200.00 paid to 武威市中医医院 when the batch is
    marked paid, at that moment, and the resident is texted; S1 (settled, then reversed: net 0) is
    cleared without a text."""
    from claims.models import ClaimStage
    from portal.integrations.sms import template_id
    from portal.integrations.sms.simulator.models import SmsMessage

    user = staff_user("payer", "理赔复核人")
    batch = clearing_batch_create(source=year, user=user)
    s2_claim = Claim.objects.get(settlement__settlement_id="S2")
    assert not ClaimStage.objects.filter(stage=ClaimStage.CLEARED).exists()
    with at("2025-10-13 16:00 +08:00"), django_capture_on_commit_callbacks(execute=True):
        clearing_batch_paid(batch_id=batch.pk, user=user)
    batch.refresh_from_db()
    cleared = ClaimStage.objects.get(claim=s2_claim, stage=ClaimStage.CLEARED)
    assert cleared.at == batch.paid_at and "9200.00元已支付给武威市中医医院" in cleared.note
    assert list(s2_claim.stages.order_by("at", "id").values_list("stage", flat=True))[-1] == ClaimStage.CLEARED
    s1_cleared = ClaimStage.objects.get(claim__settlement__settlement_id="S1", stage=ClaimStage.CLEARED)
    assert "净额0.00元" in s1_cleared.note
    [text] = SmsMessage.objects.filter(template_id=template_id("claim_cleared")).values_list("body", flat=True)
    assert "S2" in text and "9200.00" in text and "武威市中医医院" in text
    client.force_login(resident.user)
    html = client.get(f"/claims/{s2_claim.pk}/").content.decode()
    assert "结算款已与医院清算" in html and "9200.00元已支付给武威市中医医院" in html
    assert "10月13日 16:00" in html
