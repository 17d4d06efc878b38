"""Review: approval (four eyes above the limit), rejection, corrections, the audit trail, SMS."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from claims import selectors, services
from claims.models import Claim, ClaimLine, Settlement
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
    verified_payee,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    policy = active_policy(make_resident())
    verified_payee(policy.person)
    return policy


@pytest.fixture
def source(policy):
    return settlement_source()


@pytest.fixture
def reviewer(db):
    return staff_user("reviewer", "理赔审核员")


@pytest.fixture
def approver(db):
    return staff_user("approver", "理赔复核人")


def computed(source, policy, *records):
    for record in records:
        assert services.settlement_receive(source=source, record=record).status == "accepted"
    services.policy_year_recompute(policy_id=policy.pk)
    return {c.settlement.settlement_id: c for c in Claim.objects.select_related("settlement")}


LARGE = {"in_catalog_self_pay": "60000.00"}  # pays 17,200.00: above the automatic limit


def test_a_reviewer_approves_a_held_claim_and_the_resident_is_told_by_sms(
        source, policy, reviewer, django_capture_on_commit_callbacks):
    claim = computed(source, policy, settlement_record("S1", **LARGE))["S1"]
    assert claim.state == Claim.PENDING_REVIEW and claim.flags == ["above_auto_limit"]
    with django_capture_on_commit_callbacks(execute=True):
        claim = services.claim_approve(claim_id=claim.pk, user=reviewer, note="票据齐全")
    assert claim.state == Claim.APPROVED and claim.first_approver == reviewer
    sms = SmsMessage.objects.get(template_id=template_id("payout_approved"))
    assert SmsMessage.objects.to(policy.order.resident.phone).get() == sms and "17200.00" in sms.body


def test_a_large_payout_needs_a_second_approver_who_is_someone_else(source, policy, reviewer, approver, settings):
    settings.CLAIM_SECOND_APPROVAL_LIMIT = Decimal("15000.00")
    claim = computed(source, policy, settlement_record("S1", **LARGE))["S1"]
    claim = services.claim_approve(claim_id=claim.pk, user=approver)
    assert claim.state == Claim.PENDING_SECOND
    with pytest.raises(services.ReviewRefused) as same_person:
        services.claim_approve(claim_id=claim.pk, user=approver)
    assert same_person.value.code == "four_eyes"
    with pytest.raises(services.ReviewRefused) as no_right:
        services.claim_approve(claim_id=claim.pk, user=reviewer)  # a reviewer is not an approver
    assert no_right.value.code == "forbidden"
    assert Claim.objects.get(pk=claim.pk).state == Claim.PENDING_SECOND  # refusals changed nothing
    other = staff_user("approver2", "理赔复核人")
    claim = services.claim_approve(claim_id=claim.pk, user=other)
    assert claim.state == Claim.APPROVED and (claim.first_approver, claim.second_approver) == (approver, other)


def test_the_database_refuses_one_person_as_both_approvers(source, policy, approver):
    claim = computed(source, policy, settlement_record("S1", **LARGE))["S1"]
    claim.first_approver = claim.second_approver = approver
    with pytest.raises(IntegrityError), transaction.atomic():
        claim.save()


def test_an_auditor_cannot_approve(source, policy):
    auditor = staff_user("auditor", "理赔审计员")
    claim = computed(source, policy, settlement_record("S1", **LARGE))["S1"]
    with pytest.raises(services.ReviewRefused):
        services.claim_approve(claim_id=claim.pk, user=auditor)


def test_a_rejection_frees_the_deductible_for_the_next_claim(source, policy, reviewer):
    claims = computed(source, policy, settlement_record("S1", **LARGE),
                      settlement_record("S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01"))
    assert claims["S2"].payout == Decimal("14800.00")  # S1 used the deductible and moved the band position
    services.claim_reject(claim_id=claims["S1"].pk, user=reviewer, code="fraud_suspected", note="票据存疑")
    s1, s2 = (Claim.objects.get(pk=claims[k].pk) for k in ("S1", "S2"))
    assert s1.state == Claim.REJECTED and s1.payout == 0 and s1.rejection_label == "疑似虚假或欺诈理赔"
    assert sum(line.payout for line in s1.lines.all()) == 0  # taken back by an adjustment, not deleted
    assert s2.payout == Decimal("5400.00")  # now S2 bears the deductible itself: (30,000 − 12,000) × 30%
    assert s2.lines.filter(kind=ClaimLine.ADJUSTMENT, reason__startswith="审核拒赔").exists()


def test_a_rejection_needs_a_reason_code(source, policy, reviewer):
    claim = computed(source, policy, settlement_record("S1", **LARGE))["S1"]
    with pytest.raises(services.ReviewRefused) as refused:
        services.claim_reject(claim_id=claim.pk, user=reviewer, code="other", note=" ")
    assert refused.value.code == "decision_note"
    assert Claim.objects.get(pk=claim.pk).state == Claim.PENDING_REVIEW


def test_correcting_the_pre_existing_flag_recomputes_and_records_an_adjustment(source, policy, reviewer):
    claim = computed(source, policy, settlement_record("S1"))["S1"]
    assert claim.payout == Decimal("5400.00") and claim.state == Claim.APPROVED
    written = services.settlement_correct(settlement_id=claim.settlement_id, user=reviewer, pre_existing=True,
                                          reason="病历显示投保前已确诊")
    claim.refresh_from_db()
    adjustment = claim.lines.get(kind=ClaimLine.ADJUSTMENT)
    assert written == 1 and claim.payout == Decimal("3600.00")  # 18,000 × 20% (the pre-existing ratio)
    assert adjustment.payout == Decimal("-1800.00") and "病历显示投保前已确诊" in adjustment.reason
    assert claim.state == Claim.PENDING_REVIEW and "pre_existing" in claim.flags
    original = claim.lines.get(kind=ClaimLine.ORIGINAL)
    assert original.payout == Decimal("5400.00")  # the first computation is never rewritten
    with pytest.raises(services.ReviewRefused) as same:
        services.settlement_correct(settlement_id=claim.settlement_id, user=reviewer, pre_existing=True, reason="再次")
    assert same.value.code == "no_change"


def test_the_audit_trail_says_who_did_what_and_why(source, policy, reviewer):
    claim = computed(source, policy, settlement_record("S1"))["S1"]
    services.settlement_correct(settlement_id=claim.settlement_id, user=reviewer, pre_existing=True,
                                reason="病历显示投保前已确诊")
    services.claim_approve(claim_id=claim.pk, user=reviewer, note="核实无误")
    trail = selectors.audit_trail(Claim.objects.get(pk=claim.pk))
    mine = [entry for entry in trail if entry.who == "reviewer"]
    assert {entry.action for entry in mine} >= {"更正", "审核通过"}
    assert any("既往症更正为：是" in e.what and e.why == "病历显示投保前已确诊" for e in mine)
    assert any("已审核通过" in e.what and e.why == "核实无误" for e in mine)


def test_a_reversal_after_payment_becomes_a_recovery_for_review(source, policy, approver):
    claim = computed(source, policy, settlement_record("S1"))["S1"]
    batch = services.payout_batch_create(program=policy.version.program, user=approver)
    services.payout_batch_reconcile(batch_id=batch.pk, user=approver)
    claim.refresh_from_db()
    assert claim.state == Claim.PAID and claim.paid_amount == Decimal("5400.00")
    services.settlement_reverse(source=source, settlement_id="S1")
    services.policy_year_recompute(policy_id=policy.pk)
    claim.refresh_from_db()
    assert claim.payout == 0 and claim.paid_amount == Decimal("5400.00") and claim.payable == Decimal("-5400.00")
    assert claim.state == Claim.PENDING_REVIEW and "adjusted_after_payment" in claim.flags
    assert [line.payout for line in claim.lines.order_by("revision")] == [Decimal("5400.00"), Decimal("-5400.00")]


def test_settlements_matching_no_policy_are_kept_with_the_reason(source):
    from tests.factories import MOTHER_ID

    receipt = services.settlement_receive(source=source, record=settlement_record("X1", id_number=MOTHER_ID))
    assert receipt.status == "accepted"
    kept = Settlement.objects.get(settlement_id="X1")
    assert kept.match_status == Settlement.UNMATCHED and kept.unmatched_reason == "未找到该参保人"
    assert not Claim.objects.exists()
