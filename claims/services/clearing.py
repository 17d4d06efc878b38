"""Clearing window payouts with the hospitals, and reconciling with the platform.

A payout fixed at the window was handed to the patient by the hospital: the insurer owes it to the
hospital. Per hospital and day a clearing statement lists what the day changed in the window
claims of that hospital, from their claim lines (a claim's lines add up to what it pays):

- payouts: the lines written when the day's window settlements were made;
- reversals: the lines taking back a settlement reversed that day;
- adjustments: every other line the recompute wrote that day on a window claim (a feed record dated
  before a window settlement, a reviewer's correction, another settlement's reversal): positive ones
  are paid to the hospital, negative ones recovered from what it is paid.

Statements are made for days that are over (a line is never written into a past day, so a
statement never changes), once per hospital and day (a unique constraint); the insurer pays them
in a batch, exported in the platform's format, and paying marks each claim's money paid.

Reconciliation (对总账 / 对明细账): the platform sends its totals and detail of window settlements
and reversals for a hospital and day; they are compared with the window settlements kept here and
every difference is kept for staff (the admin's 窗口结算对账).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from claims.models import (
    Claim,
    ClaimLine,
    ClaimStage,
    ClearingBatch,
    ClearingItem,
    ClearingStatement,
    Reconciliation,
    SettlementSource,
    WindowSettlement,
)
from claims.rules.records import FieldError
from claims.services.recompute import _notify
from claims.services.review import ReviewRefused, _audit
from claims.services.window import WindowRefused

ZERO = Decimal("0.00")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def clearing_statements_build(*, day: date) -> list[ClearingStatement]:
    """Every hospital's statement for ``day`` (a day that is over); making them again changes
    nothing. Returns the statements of the day."""
    if day >= timezone.localdate():
        raise ReviewRefused("day_not_over", "只能为已结束的日期生成清算单")
    start, end = _day_bounds(day)
    per_hospital: dict[tuple[int, str], dict] = {}

    def statement(source_id: int, code: str, name: str) -> dict:
        return per_hospital.setdefault((source_id, code), {
            "name": name, "settlements": 0, "reversals_count": 0, "items": defaultdict(lambda: ZERO)})

    for ws in WindowSettlement.objects.filter(day=day).only("source_id", "hospital_code", "hospital_name"):
        statement(ws.source_id, ws.hospital_code, ws.hospital_name)["settlements"] += 1
    for ws in WindowSettlement.objects.filter(reversal_day=day).only("source_id", "hospital_code", "hospital_name"):
        statement(ws.source_id, ws.hospital_code, ws.hospital_name)["reversals_count"] += 1
    lines = (ClaimLine.objects.filter(created_at__gte=start, created_at__lt=end, claim__settlement__window=True)
             .values_list("claim_id", "kind", "payout", "claim__settlement__source_id",
                          "claim__settlement__hospital_code", "claim__settlement__hospital_name",
                          "claim__settlement__settlement_id", "claim__settlement__window_settlement__day",
                          "claim__settlement__reversed_at"))
    for claim_id, kind, payout, source_id, code, name, number, settled_day, reversed_at in lines:
        if kind == ClaimLine.ORIGINAL and settled_day == day:
            what = ClearingItem.PAYOUT
        elif reversed_at is not None and timezone.localdate(reversed_at) == day:
            what = ClearingItem.REVERSAL
        else:
            what = ClearingItem.ADJUSTMENT
        statement(source_id, code, name)["items"][(claim_id, number, what)] += payout

    with transaction.atomic():
        for (source_id, code), data in sorted(per_hospital.items()):
            items = {key: amount for key, amount in data["items"].items() if amount}
            totals = defaultdict(lambda: ZERO)
            for (_, _, what), amount in items.items():
                totals[what] += amount
            made, created = ClearingStatement.objects.get_or_create(
                source_id=source_id, hospital_code=code, day=day, defaults={
                    "hospital_name": data["name"], "settlements": data["settlements"],
                    "payouts": totals[ClearingItem.PAYOUT], "reversals_count": data["reversals_count"],
                    "reversals": totals[ClearingItem.REVERSAL], "adjustments": totals[ClearingItem.ADJUSTMENT],
                    "total": sum(totals.values(), ZERO)})
            if created:
                ClearingItem.objects.bulk_create([
                    ClearingItem(statement=made, claim_id=claim_id, settlement_id=number, kind=what, amount=amount)
                    for (claim_id, number, what), amount in sorted(items.items())])
    return list(ClearingStatement.objects.filter(day=day).order_by("source_id", "hospital_code"))


def clearing_batch_create(*, source: SettlementSource, user) -> ClearingBatch:
    """Every open statement of the platform not yet in a batch, for the insurer to pay together."""
    with transaction.atomic(), _audit(user, "clearing_batch"):
        if not user.has_perm("claims.manage_payout_batch"):
            raise ReviewRefused("forbidden", "您没有管理赔款支付批次的权限")
        statements = list(ClearingStatement.objects.select_for_update()
                          .filter(source=source, status=ClearingStatement.OPEN, batch__isnull=True)
                          .order_by("day", "hospital_code"))
        if not statements:
            raise ReviewRefused("nothing_to_pay", "没有待支付的医院清算单")
        batch = ClearingBatch.objects.create(
            number=f"CB{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}", source=source,
            total=sum((s.total for s in statements), ZERO), created_by=user)
        ClearingStatement.objects.filter(pk__in=[s.pk for s in statements]).update(batch=batch)
    return batch


def clearing_batch_paid(*, batch_id: int, user) -> ClearingBatch:
    """The insurer paid the batch: its statements are paid, and each claim's cleared money is its
    paid amount (a claim with nothing left to clear is paid). Each claim on it goes through the
    ``cleared`` stage (结算款已与医院清算) at the moment the batch is marked paid, naming the hospital
    and the amount; the resident is told by SMS (``claim_cleared``) when the hospital was paid money
    for it (an amount recovered from the hospital is recorded but not texted, as for payouts)."""
    with transaction.atomic(), _audit(user, "clearing_paid"):
        if not user.has_perm("claims.manage_payout_batch"):
            raise ReviewRefused("forbidden", "您没有管理赔款支付批次的权限")
        batch = ClearingBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != ClearingBatch.OPEN:
            raise ReviewRefused("paid", "该批次已确认支付，不能重复确认")
        now = timezone.now()
        cleared: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for claim_id, amount in ClearingItem.objects.filter(statement__batch=batch).values_list("claim_id", "amount"):
            cleared[claim_id] += amount
        stages, notices = [], []
        for claim in (Claim.objects.select_for_update(of=("self",)).select_related("settlement", "policy__person")
                      .filter(pk__in=cleared).order_by("pk")):
            amount = cleared[claim.pk]
            claim.paid_amount += amount
            if claim.state == Claim.APPROVED and claim.payable == 0:
                claim.mark_paid()
            claim.save(update_fields=["paid_amount", "state", "updated_at"])
            hospital = claim.settlement.hospital_name
            stages.append(ClaimStage(claim=claim, stage=ClaimStage.CLEARED, at=now, note=(
                f"{amount:.2f}元已支付给{hospital}" if amount > 0 else f"{-amount:.2f}元已从{hospital}收回" if amount
                else f"{hospital}：结算与撤销相抵，净额0.00元")[:300]))
            if amount > 0:
                notices.append((claim.policy, "claim_cleared", {
                    "name": claim.policy.person.name, "hospital": hospital[:30],
                    "settlement": claim.settlement.settlement_id, "amount": f"{amount:.2f}"}))
        ClaimStage.objects.bulk_create(stages)
        _notify(notices)
        batch.statements.update(status=ClearingStatement.PAID, paid_at=now)
        batch.status, batch.paid_at = ClearingBatch.PAID, now
        batch.save(update_fields=["status", "paid_at"])
    return batch


# --- Reconciliation with the platform ------------------------------------------------------------

SETTLE, REVERSE = "settle", "reverse"


def _detail_here(source, hospital_code: str, day: date) -> dict[tuple[str, str], Decimal]:
    here: dict[tuple[str, str], Decimal] = {}
    for number, payout in WindowSettlement.objects.filter(source=source, hospital_code=hospital_code,
                                                          day=day).values_list("number", "payout"):
        here[(number, SETTLE)] = payout
    for number, payout in WindowSettlement.objects.filter(source=source, hospital_code=hospital_code,
                                                          reversal_day=day).values_list("number", "payout"):
        here[(number, REVERSE)] = -payout
    return here


def _money(value, field_: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (ArithmeticError, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or isinstance(value, float) or amount != amount.quantize(ZERO):
        raise WindowRefused(422, [FieldError(field_, "invalid_amount", f"{field_}：应为元，最多两位小数的字符串")])
    return amount.quantize(ZERO)


def window_reconcile(*, source: SettlementSource, payload) -> dict:
    """The platform's totals (对总账) and, when given, detail (对明细账) for one hospital and day,
    against the window settlements kept here. Sending again replaces the day's comparison."""
    def refuse(field_, code, message):
        return WindowRefused(422, [FieldError(field_, code, f"{field_}：{message}")])

    if not isinstance(payload, dict):
        raise refuse("body", "invalid", "应为 JSON 对象")
    code = payload.get("hospital_code")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise refuse("hospital_code", "required", "应为医院编码")
    try:
        day = date.fromisoformat(payload.get("day") or "")
    except (TypeError, ValueError):
        raise refuse("day", "invalid_date", "应为 YYYY-MM-DD 格式的日期") from None
    if day >= timezone.localdate():
        raise refuse("day", "day_not_over", "只能核对已结束的日期")
    totals = payload.get("totals")
    if not isinstance(totals, dict):
        raise refuse("totals", "required", "应为 {count, amount}")
    count = totals.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise refuse("totals.count", "invalid", "应为非负整数")
    amount = _money(totals.get("amount"), "totals.amount")
    detail = payload.get("detail")
    if detail is not None and not isinstance(detail, list):
        raise refuse("detail", "invalid", "应为明细数组")
    there: dict[tuple[str, str], Decimal] = {}
    for index, row in enumerate(detail or []):
        where = f"detail[{index}]"
        if not isinstance(row, dict) or not isinstance(row.get("settlement_id"), str) \
                or row.get("type") not in (SETTLE, REVERSE):
            raise refuse(where, "invalid", "应含 settlement_id、type（settle 或 reverse）与 amount")
        key = (row["settlement_id"], row["type"])
        if key in there:
            raise refuse(f"{where}.settlement_id", "duplicate", f"“{key[0]}”（{key[1]}）重复出现")
        there[key] = _money(row.get("amount"), f"{where}.amount")

    here = _detail_here(source, code, day)
    our_count, our_amount = len(here), sum(here.values(), ZERO)
    differences = []
    if detail is not None:
        for key in sorted(set(here) | set(there)):
            number, kind = key
            ours, theirs = here.get(key), there.get(key)
            if ours is None:
                differences.append({"settlement_id": number, "type": kind, "difference": "missing_here",
                                    "platform": f"{theirs:.2f}", "ours": None, "message": "平台有记录，本系统无此笔"})
            elif theirs is None:
                differences.append({"settlement_id": number, "type": kind, "difference": "missing_on_platform",
                                    "platform": None, "ours": f"{ours:.2f}", "message": "本系统有记录，平台无此笔"})
            elif ours != theirs:
                differences.append({"settlement_id": number, "type": kind, "difference": "amount_differs",
                                    "platform": f"{theirs:.2f}", "ours": f"{ours:.2f}", "message": "金额不一致"})
    record, _ = Reconciliation.objects.update_or_create(
        source=source, hospital_code=code, day=day, defaults={
            "platform_count": count, "platform_amount": amount, "our_count": our_count, "our_amount": our_amount,
            "totals_match": count == our_count and amount == our_amount, "detail_checked": detail is not None,
            "differences": differences})
    return {
        "hospital_code": code, "day": day.isoformat(),
        "totals": {"platform": {"count": count, "amount": f"{amount:.2f}"},
                   "ours": {"count": our_count, "amount": f"{our_amount:.2f}"}, "match": record.totals_match},
        "detail_checked": record.detail_checked,
        "differences": differences,
        "matched": record.matched,
    }
