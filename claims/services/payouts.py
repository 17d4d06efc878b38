"""Payout batches: approved claims exported for the insurers, then reconciled with what was paid."""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from claims.models import (
    Claim,
    ClaimStage,
    Payee,
    PayoutBatch,
    PayoutItem,
)
from claims.services.review import ReviewRefused, _audit

logger = logging.getLogger(__name__)


# --- Payment batches -------------------------------------------------------------------------


def has_payee():
    """The claim's insured person has a verified payee now."""
    return Exists(Payee.objects.filter(person_id=OuterRef("policy__person_id"), replaced_at__isnull=True))


def payable_claims(program):
    """Approved claims of the program with money still to pay (or to recover), not waiting in another
    batch, and, when there is money to pay, whose insured person has a verified payee."""
    return (Claim.objects.filter(policy__version__program=program, state=Claim.APPROVED, settlement__window=False)
            .exclude(payout=F("paid_amount"))
            .exclude(payout_items__status=PayoutItem.PENDING))


def awaiting_payee(program):
    """Approved claims with money to pay that wait for the resident to register a payee."""
    return payable_claims(program).filter(payout__gt=F("paid_amount")).exclude(has_payee())


def payout_batch_create(*, program, user) -> PayoutBatch:
    """Every approved claim of the program with money still to pay (or to recover) and not
    waiting in another batch; a payment carries the insured person's verified payee, and a claim
    whose person has none waits (``awaiting_payee``) until one is verified. Claims settled at a
    hospital window are cleared with the hospital (``claims.services.clearing``), never paid here.
    The partial unique index on pending items makes two batches created at the same moment unable
    to take the same claim."""
    with transaction.atomic(), _audit(user, "payout_batch"):
        if not user.has_perm("claims.manage_payout_batch"):
            raise ReviewRefused("forbidden", "您没有管理赔款支付批次的权限")
        claims = list(
            payable_claims(program).filter(Q(payout__lt=F("paid_amount")) | has_payee())
            .select_for_update(of=("self",)).select_related("policy").order_by("pk")
        )
        if not claims:
            waiting = awaiting_payee(program).count()
            raise ReviewRefused("nothing_to_pay", "没有待支付的已审核理赔" + (
                f"（另有{waiting}笔待居民登记收款账户）" if waiting else ""))
        payees = {p.person_id: p for p in Payee.objects.filter(
            person_id__in={c.policy.person_id for c in claims}, replaced_at__isnull=True)}
        batch = PayoutBatch.objects.create(
            number=f"PB{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}",
            program=program,
            total=sum((c.payable for c in claims), Decimal("0.00")),
            created_by=user,
        )
        try:
            with transaction.atomic():
                PayoutItem.objects.bulk_create(
                    [PayoutItem(batch=batch, claim=c, amount=c.payable,
                                payee=payees.get(c.policy.person_id) if c.payable > 0 else None) for c in claims])
        except IntegrityError:
            raise ReviewRefused("busy", "另一支付批次正在生成，请稍后刷新再试") from None
    return batch


def _progress_paid(paid: list, at) -> None:
    """Each payment received: the claim's ``paid`` stage and an SMS naming the account's last digits."""
    from claims.services.recompute import _notify

    ClaimStage.objects.bulk_create([ClaimStage(claim=claim, stage=ClaimStage.PAID, at=at, note=(
        f"{item.amount:.2f}元支付至{item.payee.card_masked}" if item.payee else f"{item.amount:.2f}元"))
        for claim, item in paid])
    _notify([(claim.policy, "claim_paid", {"name": claim.policy.person.name, "amount": f"{item.amount:.2f}",
                                           "last4": item.payee.card_masked[-4:] if item.payee else "—"})
             for claim, item in paid])


def payout_batch_reconcile(*, batch_id: int, user, paid: dict[str, Decimal] | None = None) -> PayoutBatch:
    """Close a batch with what the insurer reports paid: ``paid`` maps settlement ids to amounts
    (from the insurer's return file), or None when the whole batch was paid as exported.
    Items paid as exported are paid; the rest are closed as not paid and go into a later batch.
    The batch keeps the reconciliation: paid, missing, amounts that differ, unknown ids."""
    with transaction.atomic(), _audit(user, "payout_reconcile"):
        if not user.has_perm("claims.manage_payout_batch"):
            raise ReviewRefused("forbidden", "您没有管理赔款支付批次的权限")
        batch = PayoutBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != PayoutBatch.OPEN:
            raise ReviewRefused("reconciled", "该批次已对账，不能重复确认")
        items = list(batch.items.select_related("claim__settlement", "payee").select_for_update(of=("self",)))
        by_settlement = {item.claim.settlement.settlement_id: item for item in items}
        report = {"paid": 0, "missing": [], "mismatched": [], "unknown": []}
        if paid is not None:
            report["unknown"] = sorted(set(paid) - set(by_settlement))
        paid_total = Decimal("0.00")
        paid_now: list = []
        for settlement_id, item in by_settlement.items():
            reported = item.amount if paid is None else paid.get(settlement_id)
            if reported is None:
                item.status = PayoutItem.FAILED
                report["missing"].append(settlement_id)
            elif reported != item.amount:
                item.status = PayoutItem.FAILED
                report["mismatched"].append(
                    {"settlement_id": settlement_id, "expected": f"{item.amount:.2f}", "reported": f"{reported:.2f}"})
            else:
                item.status = PayoutItem.PAID
                report["paid"] += 1
                paid_total += item.amount
                claim = Claim.objects.select_for_update(of=("self",)).select_related("policy__person").get(
                    pk=item.claim_id)
                claim.paid_amount += item.amount
                if claim.state == Claim.APPROVED and claim.payable == 0:
                    claim.mark_paid()
                claim.save()
                if item.amount > 0:
                    paid_now.append((claim, item))
            item.save(update_fields=["status"])
        batch.status, batch.reconciled_at = PayoutBatch.RECONCILED, timezone.now()
        batch.paid_total, batch.reconciliation = paid_total, report
        batch.save()
        _progress_paid(paid_now, batch.reconciled_at)
    return batch
