"""Settling the commercial part at the hospital window, in the same discharge as basic insurance.

The medical-insurance platform calls, during a discharge settlement:

- ``window_quote`` (预结算): this policy's payout for the record now, line by line with the
  engine's explanation, and what the patient still pays. Reads only.
- ``window_settle``: the same record, final. Under the policy year's row lock the settlement is
  stored and the year recomputed at once by ``claims.services.recompute`` — the same code as the
  asynchronous task, so the accumulators move exactly as the rule engine says — and the payout
  the engine gives it is fixed (``WindowSettlement.payout``) and answered. Idempotent on the
  platform's settlement id by a unique constraint: the same record again gets the stored answer,
  changed content is a conflict.
- ``window_reverse`` (撤销): the settlement stops counting, the year is recomputed at once; the
  claim's payout is withdrawn and the other settlements' differences are written as adjustments.

The recompute stays the source of truth. A window payout is never rewritten: when a feed record
dated before a window settlement arrives later, the recompute writes the difference as
adjustment lines on the window claim (``ClaimLine.ADJUSTMENT``), and those are cleared with the
hospital — positive ones paid to it, negative ones recovered from its next statement
(``claims.services.clearing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pghistory
from django.db import IntegrityError, transaction
from django.utils import timezone

from claims import selectors as claim_selectors
from claims.models import REJECTION_LABELS, Claim, ClaimLine, PolicyYear, Settlement, WindowSettlement
from claims.rules.engine import adjudicate_year, own_part
from claims.rules.model import ACCEPTED
from claims.rules.records import FieldError, RecordInvalid, parse_settlement
from claims.services.intake import _matcher, _settlement, content_hash
from claims.services.recompute import _config, _facts, engine_input, policy_years_recompute

ZERO = Decimal("0.00")
SETTLE_REASON = "医院窗口结算"
REVERSE_REASON = "医院窗口撤销结算"


@dataclass
class WindowRefused(Exception):
    """A refused call: nothing was written. ``status`` is the HTTP status the API answers."""

    status: int
    errors: list[FieldError] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"errors": [{"field": e.field, "code": e.code, "message": e.message} for e in self.errors]}


def _refuse(status: int, field_: str, code: str, message: str) -> WindowRefused:
    return WindowRefused(status, [FieldError(field_, code, message)])


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _parse(record):
    if not isinstance(record, dict):
        raise _refuse(400, "record", "record_required", "record：应为一张结算单（JSON 对象）")
    try:
        parsed = parse_settlement(record)
    except RecordInvalid as exc:
        raise WindowRefused(422, exc.errors) from None
    if parsed.reverses:
        raise _refuse(422, "reverses", "not_at_window",
                      "reverses：窗口结算不接受冲正记录，请先调用撤销接口，再以新单号结算")
    return parsed


def _policy(source, parsed):
    policy, reason = _matcher(source, [parsed])(parsed)
    if policy is None:
        if reason.startswith("入院日期"):
            raise _refuse(422, "admission_date", "outside_coverage", f"admission_date（入院日期）：{reason}")
        raise _refuse(422, "id_number", "no_policy", f"id_number（身份证号）：{reason}，不能在窗口结算本保险")
    return policy


def _answer(*, status: str, settlement_id: str, policy, outcome: str, reason: str, own: Decimal,
            lines: list[tuple[str, Decimal, Decimal, Decimal, str]]) -> dict:
    """The answer to a quote or a settle: ``lines`` are (responsibility, covered, deductible,
    payout, explanation) as the engine gave them."""
    names = {r.code: r.name for r in _config(policy.plan).responsibilities}
    payout = sum((line[3] for line in lines), ZERO)
    rows = [{"responsibility": code, "name": names.get(code, code), "covered": _money(covered),
             "deductible": _money(deductible), "payout": _money(amount), "explanation": explanation}
            for code, covered, deductible, amount, explanation in lines]
    if outcome == ACCEPTED:
        summary = f"本保险赔付{_money(payout)}元：" + "；".join(row["explanation"] for row in rows)
    else:
        summary = f"本保险不予赔付：{REJECTION_LABELS.get(reason, reason)}"
    return {
        "status": status,
        "settlement_id": settlement_id,
        "policy_number": policy.number,
        "outcome": outcome,
        "reason": reason or None,
        "own_part": _money(own),
        "payout": _money(payout),
        "patient_pays": _money(own - payout),
        "lines": rows,
        "explanation": summary,
    }


def _live_inputs(policy_id: int) -> list:
    """The year's settlements that count, as the recompute reads them (``claims.selectors``)."""
    return [engine_input(s) for s in claim_selectors.year_live_settlements(policy_id)]


# --- quote ---------------------------------------------------------------------------------------


def window_quote(*, source, record) -> dict:
    """预结算: the engine over the year's live settlements and this record; writes nothing. A record
    already settled at the window answers its stored settlement."""
    parsed = _parse(record)
    stored = WindowSettlement.objects.filter(source=source, number=parsed.settlement_id).first()
    if stored is not None:
        return _repeat(stored, content_hash(record))
    policy = _policy(source, parsed)
    policy = type(policy).objects.select_related("person", "plan__version").get(pk=policy.pk)
    inputs = _live_inputs(policy.pk)
    result = adjudicate_year(_config(policy.plan), _facts(policy), [*inputs, parsed])
    # The quoted record is the last of equal ids in the input, so its result is the last one.
    mine = [r for r in result.results if r.settlement_id == parsed.settlement_id][-1]
    return _answer(status="quoted", settlement_id=parsed.settlement_id, policy=policy, outcome=mine.status,
                   reason=mine.reason or "", own=own_part(parsed),
                   lines=[(ln.responsibility, ln.covered, ln.deductible, ln.payout, ln.explanation)
                          for ln in mine.lines])


# --- settle --------------------------------------------------------------------------------------


def _repeat(stored: WindowSettlement, digest: str) -> dict:
    if stored.content_hash != digest:
        raise _refuse(409, "settlement_id", "conflict",
                      f"settlement_id（结算单号）：“{stored.number}”已以不同内容结算，不会覆盖；更正请先撤销，再以新单号结算")
    if stored.reversed_at is not None:
        raise _refuse(409, "settlement_id", "reversed",
                      f"settlement_id（结算单号）：“{stored.number}”已撤销，请以新单号重新结算")
    return stored.answer


def _lock_year(policy_id: int) -> PolicyYear:
    PolicyYear.objects.bulk_create([PolicyYear(policy_id=policy_id)], ignore_conflicts=True)
    return PolicyYear.objects.select_for_update().get(policy_id=policy_id)


def window_settle(*, source, record) -> dict:
    """Store the settlement and fix its payout under the policy year's lock (see the module)."""
    parsed = _parse(record)
    digest = content_hash(record)
    stored = WindowSettlement.objects.filter(source=source, number=parsed.settlement_id).first()
    if stored is not None:
        return _repeat(stored, digest)
    policy = _policy(source, parsed)
    with transaction.atomic(), pghistory.context(action="window_settle", reason=SETTLE_REASON):
        _lock_year(policy.pk)
        # Whoever held the lock before may have settled this very record: the constraint's row is read.
        stored = WindowSettlement.objects.filter(source=source, number=parsed.settlement_id).first()
        if stored is not None:
            return _repeat(stored, digest)
        if Settlement.objects.filter(source=source, settlement_id=parsed.settlement_id).exists():
            raise _refuse(409, "settlement_id", "already_received",
                          f"settlement_id（结算单号）：“{parsed.settlement_id}”已由结算数据接口接收，不能再在窗口结算")
        settlement = _settlement(source, record, parsed, digest, policy, "")
        settlement.window = True
        try:
            with transaction.atomic():
                settlement.save()
        except IntegrityError:  # the feed stored the same id at this moment
            raise _refuse(409, "settlement_id", "already_received",
                          f"settlement_id（结算单号）：“{parsed.settlement_id}”已由结算数据接口接收，不能再在窗口结算") from None
        policy_years_recompute(policy_ids=[policy.pk], reason=SETTLE_REASON)
        claim = Claim.objects.select_related("policy__plan__version").get(settlement=settlement)
        lines = list(claim.lines.order_by("pk").values_list("responsibility", "covered", "deductible", "payout",
                                                            "explanation"))
        answer = _answer(status="settled", settlement_id=parsed.settlement_id, policy=claim.policy,
                         outcome=claim.outcome, reason=claim.reason if claim.outcome != ACCEPTED else "",
                         own=own_part(parsed), lines=lines)
        WindowSettlement.objects.create(
            settlement=settlement, source=source, number=parsed.settlement_id, policy=policy,
            hospital_code=parsed.hospital_code, hospital_name=parsed.hospital_name, day=timezone.localdate(),
            own_part=own_part(parsed), payout=Decimal(answer["payout"]), patient_pays=Decimal(answer["patient_pays"]),
            content_hash=digest, answer=answer)
    return answer


# --- reverse -------------------------------------------------------------------------------------


def window_reverse(*, source, settlement_id: str) -> dict:
    """撤销: the window settlement stops counting; the year is recomputed at once under its lock.
    The answer names the payout taken back and every adjustment the recompute wrote on the year's
    other settlements. Reversing again answers the same."""
    stored = WindowSettlement.objects.filter(source=source, number=settlement_id).first()
    if stored is None:
        raise _refuse(404, "settlement_id", "unknown_settlement",
                      f"settlement_id（结算单号）：未找到窗口结算“{settlement_id}”")
    with transaction.atomic(), pghistory.context(action="window_reverse", reason=REVERSE_REASON):
        year = _lock_year(stored.policy_id)
        stored = WindowSettlement.objects.select_for_update().get(pk=stored.pk)
        if stored.reversed_at is not None:
            return stored.reversal_answer
        now = timezone.now()
        Settlement.objects.filter(pk=stored.settlement_id, reversed_at__isnull=True).update(reversed_at=now)
        policy_years_recompute(policy_ids=[stored.policy_id], reason=REVERSE_REASON)
        written: dict[int, list] = {}
        for pk, number, at_window, amount in ClaimLine.objects.filter(
                claim__policy_id=stored.policy_id, revision__gt=year.revision).values_list(
                "claim__settlement_id", "claim__settlement__settlement_id", "claim__settlement__window", "payout"):
            written.setdefault(pk, [number, at_window, ZERO])[2] += amount
        taken_back, adjustments = ZERO, []
        for pk, (number, at_window, amount) in written.items():
            if pk == stored.settlement_id:
                taken_back = -amount
            elif amount:
                adjustments.append({"settlement_id": number, "at_window": at_window, "amount": _money(amount)})
        adjustments.sort(key=lambda a: a["settlement_id"])
        answer = {"status": "reversed", "settlement_id": settlement_id, "payout_reversed": _money(taken_back),
                  "adjustments": adjustments,
                  "explanation": f"已撤销窗口结算，冲回本保险赔付{_money(taken_back)}元"
                                 + (f"；本年度其他结算单重新计算，调整{len(adjustments)}笔" if adjustments else "")}
        stored.reversed_at, stored.reversal_day, stored.reversal_answer = now, timezone.localdate(now), answer
        stored.save(update_fields=["reversed_at", "reversal_day", "reversal_answer"])
    return answer

