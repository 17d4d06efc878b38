"""Staff review: approve (four eyes above the second limit), reject with a reason, correct the
pre-existing flag; each recomputes the year where money changes, audited through django-pghistory."""

from __future__ import annotations

import logging

import pghistory
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from claims.models import (
    Claim,
    Settlement,
)
from claims.services.recompute import _approved, _notify, policy_year_recompute

logger = logging.getLogger(__name__)


# --- Review ----------------------------------------------------------------------------------


class ReviewRefused(Exception):
    """A review action that cannot be taken; nothing was changed."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


def _audit(user, action: str, reason: str = ""):
    """Who, what and why, attached to every history row written inside (django-pghistory)."""
    return pghistory.context(user=user.pk, username=user.get_username(), action=action, reason=reason)


def _locked_claim(claim_id: int) -> Claim:
    return Claim.objects.select_for_update(of=("self",)).select_related(
        "settlement__source", "policy__order", "policy__person").get(pk=claim_id)


def _notify_approved(claim: Claim) -> None:
    from claims.models import ClaimStage

    notices: list = []
    _approved(claim, notices)
    ClaimStage.objects.create(claim=claim, stage=ClaimStage.PAID if claim.state == Claim.PAID else ClaimStage.APPROVED,
                              at=timezone.now(), note=claim.decision_note[:300])
    _notify(notices)


def claim_approve(*, claim_id: int, user, note: str = "") -> Claim:
    """A reviewer approves a claim held for review; above ``CLAIM_SECOND_APPROVAL_LIMIT`` it then
    waits for a second approver, who must be someone else (also a database constraint)."""
    with transaction.atomic(), _audit(user, "approve", note):
        claim = _locked_claim(claim_id)
        claim.decision_note = note
        if claim.state == Claim.PENDING_REVIEW:
            if not user.has_perm("claims.review_claim"):
                raise ReviewRefused("forbidden", "您没有审核理赔的权限")
            claim.first_approver = user
            if claim.payout > settings.CLAIM_SECOND_APPROVAL_LIMIT:
                claim.approve_first()
            else:
                claim.approve()
                _notify_approved(claim)
        elif claim.state == Claim.PENDING_SECOND:
            if not user.has_perm("claims.second_approve_claim"):
                raise ReviewRefused("forbidden", "您没有复核大额理赔的权限")
            if claim.first_approver_id == user.pk:
                raise ReviewRefused("four_eyes", "大额理赔须由另一位复核人审批，审核人不能复核自己审核的理赔")
            claim.second_approver = user
            claim.approve()
            _notify_approved(claim)
        else:
            raise ReviewRefused("not_pending", f"该理赔当前状态为“{claim.get_state_display()}”，不能审核")
        claim.decision_note = note
        claim.save()
    return claim


def claim_reject(*, claim_id: int, user, code: str, note: str = "") -> Claim:
    """Reject with a reason code. The rejected settlement stops using the year's deductible and
    limits: the year is recomputed and the claim's lines are taken back by an adjustment."""
    from claims.models import REJECTION_CODES

    if code not in dict(REJECTION_CODES):
        raise ReviewRefused("rejection_code", "请选择拒赔原因")
    if code == "other" and not note.strip():
        raise ReviewRefused("decision_note", "拒赔原因为“其他”时，请填写说明")
    with transaction.atomic(), _audit(user, "reject", note or code):
        claim = _locked_claim(claim_id)
        if not user.has_perm("claims.review_claim"):
            raise ReviewRefused("forbidden", "您没有审核理赔的权限")
        if claim.state not in (Claim.PENDING_REVIEW, Claim.PENDING_SECOND, Claim.APPROVED):
            raise ReviewRefused("not_pending", f"该理赔当前状态为“{claim.get_state_display()}”，不能拒赔")
        if claim.payout_items.filter(status="pending").exists():
            raise ReviewRefused("in_batch", "该理赔已在待支付批次中，请先完成该批次对账")
        claim.reject()
        claim.rejected_by, claim.rejection_code, claim.decision_note = user, code, note
        claim.decided_at = timezone.now()
        claim.save()
        from claims.models import ClaimStage

        label = claim.rejection_label + (f"（{note}）" if note else "")
        ClaimStage.objects.create(claim=claim, stage=ClaimStage.REJECTED, at=claim.decided_at, note=label[:300])
        _notify([(claim.policy, "claim_rejected", {"name": claim.policy.person.name,
                                                   "settlement": claim.settlement.settlement_id,
                                                   "reason": label[:30]})])
        policy_year_recompute(policy_id=claim.policy_id, reason=f"审核拒赔：{claim.rejection_label}")
    return claim


def settlement_correct(*, settlement_id: int, user, pre_existing: bool, reason: str) -> int:
    """A reviewer corrects the pre-existing flag with a reason; the year is recomputed at once and
    the difference becomes adjustment lines. Returns the number of lines written."""
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("reason", "请填写更正原因")
    with transaction.atomic(), _audit(user, "correct", reason):
        settlement = Settlement.objects.select_for_update().get(pk=settlement_id)
        if not user.has_perm("claims.review_claim"):
            raise ReviewRefused("forbidden", "您没有审核理赔的权限")
        if settlement.policy_id is None:
            raise ReviewRefused("unmatched", "该结算单未匹配保单，无需更正")
        if settlement.effective_pre_existing == pre_existing:
            raise ReviewRefused("no_change", "既往症标记与当前一致，未作更改")
        if Claim.objects.filter(settlement=settlement, payout_items__status="pending").exists():
            raise ReviewRefused("in_batch", "该理赔已在待支付批次中，请先完成该批次对账")
        settlement.pre_existing_corrected = pre_existing
        settlement.correction_reason = reason
        settlement.save(update_fields=["pre_existing_corrected", "correction_reason"])
        label = "是" if pre_existing else "否"
        return policy_year_recompute(policy_id=settlement.policy_id, reason=f"更正既往症为“{label}”：{reason}")
