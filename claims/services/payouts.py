"""Payout batches: approved claims exported for the insurers, then reconciled with what was paid."""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from claims.models import (
    Claim,
    PayoutBatch,
    PayoutItem,
)
from claims.services.review import ReviewRefused, _audit

logger = logging.getLogger(__name__)


# --- Payment batches -------------------------------------------------------------------------


def payout_batch_create(*, program, user) -> PayoutBatch:
    """Every approved claim of the program with money still to pay (or to recover) and not
    waiting in another batch. Claims settled at a hospital window are cleared with the hospital
    (``claims.services.clearing``), never paid here. The partial unique index on pending items makes two batches
    created at the same moment unable to take the same claim."""
    with transaction.atomic(), _audit(user, "payout_batch"):
        if not user.has_perm("claims.manage_payout_batch"):
            raise ReviewRefused("forbidden", "您没有管理赔款支付批次的权限")
        claims = list(
            Claim.objects.select_for_update()
            .filter(policy__version__program=program, state=Claim.APPROVED, settlement__window=False)
            .exclude(payout=F("paid_amount"))
            .exclude(payout_items__status=PayoutItem.PENDING)
            .order_by("pk")
        )
        if not claims:
            raise ReviewRefused("nothing_to_pay", "没有待支付的已审核理赔")
        batch = PayoutBatch.objects.create(
            number=f"PB{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}",
            program=program,
            total=sum((c.payable for c in claims), Decimal("0.00")),
            created_by=user,
        )
        try:
            with transaction.atomic():
                PayoutItem.objects.bulk_create(
                    [PayoutItem(batch=batch, claim=c, amount=c.payable) for c in claims])
        except IntegrityError:
            raise ReviewRefused("busy", "另一支付批次正在生成，请稍后刷新再试") from None
    return batch


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
        items = list(batch.items.select_related("claim__settlement").select_for_update(of=("self",)))
        by_settlement = {item.claim.settlement.settlement_id: item for item in items}
        report = {"paid": 0, "missing": [], "mismatched": [], "unknown": []}
        if paid is not None:
            report["unknown"] = sorted(set(paid) - set(by_settlement))
        paid_total = Decimal("0.00")
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
                claim = Claim.objects.select_for_update().get(pk=item.claim_id)
                claim.paid_amount += item.amount
                if claim.state == Claim.APPROVED and claim.payable == 0:
                    claim.mark_paid()
                claim.save()
            item.save(update_fields=["status"])
        batch.status, batch.reconciled_at = PayoutBatch.RECONCILED, timezone.now()
        batch.paid_total, batch.reconciliation = paid_total, report
        batch.save()
    return batch
