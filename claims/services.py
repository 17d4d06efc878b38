"""Writes to the claims data: receiving settlements, recomputing a policy year.

Flow 3 of domain.md: a settlement arrives (API or import) → validated (``claims.rules.records``)
and stored verbatim → on commit, a task for its policy year → lock → the rule engine over the
whole year → only the difference from what is recorded is written (claim lines, adjustments).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from claims.models import (
    Claim,
    ClaimLine,
    ClaimSubmission,
    PayoutBatch,
    PayoutItem,
    PolicyYear,
    Settlement,
    SettlementSource,
    SubmissionDocument,
)
from claims.rules.engine import adjudicate_year
from claims.rules.model import ACCEPTED, PolicyFacts
from claims.rules.records import FieldError, RecordInvalid, parse_settlement
from enrollment import idnumber, selectors
from enrollment.models import Person, Policy, Resident
from portal import crypto, sms

logger = logging.getLogger(__name__)

ACCEPTED_STATUS, DUPLICATE, CONFLICT, REFUSED = "accepted", "duplicate", "conflict", "refused"


@dataclass
class Receipt:
    """What the sender is told about one record."""

    status: str  # accepted / duplicate / conflict / refused
    settlement_id: str | None
    errors: list[FieldError] = field(default_factory=list)
    settlement: Settlement | None = None

    def as_json(self, index: int) -> dict:
        return {
            "index": index,
            "settlement_id": self.settlement_id,
            "status": self.status,
            "errors": [{"field": e.field, "code": e.code, "message": e.message} for e in self.errors],
        }


def content_hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _matcher(source: SettlementSource, parsed_records):
    """Find, in three queries for a whole batch, the policy each record's admission falls in."""
    hashes = {crypto.blind_index(p.id_number) for p in parsed_records}
    persons = dict(Person.objects.filter(id_hash__in=hashes).values_list("id_hash", "pk"))
    policies = defaultdict(list)
    for policy in Policy.objects.filter(person_id__in=persons.values(), version__program_id=source.program_id,
                                        status=Policy.ACTIVE).order_by("-coverage_start"):
        policies[policy.person_id].append(policy)

    def match(parsed) -> tuple[Policy | None, str]:
        person_id = persons.get(crypto.blind_index(parsed.id_number))
        if person_id is None:
            return None, "未找到该参保人"
        for policy in policies[person_id]:
            if policy.coverage_start <= parsed.admission_date <= policy.coverage_end:
                return policy, ""
        return None, "入院日期不在该参保人任何有效保单的保障期内"

    return match


def _settlement(source, record, parsed, digest, policy, reason, reversed_one=None) -> Settlement:
    return Settlement(
        source=source,
        settlement_id=parsed.settlement_id,
        record=record,
        content_hash=digest,
        id_hash=crypto.blind_index(parsed.id_number),
        id_masked=idnumber.mask(parsed.id_number),
        name=parsed.name,
        hospital_code=parsed.hospital_code,
        hospital_name=parsed.hospital_name,
        admission_date=parsed.admission_date,
        settled_at=parsed.settled_at,
        pre_existing=parsed.pre_existing,
        reverses=reversed_one,
        policy=policy,
        match_status=Settlement.MATCHED if policy else Settlement.UNMATCHED,
        unmatched_reason=reason,
    )


def settlements_receive(*, source: SettlementSource, records: list) -> list[Receipt]:
    """Validate and store a batch; one receipt per record, in order. Good records are kept even
    when others are refused. Idempotent on ``settlement_id``: the same content gets the same
    answer, different content is a conflict, never an overwrite — also when the same id arrives
    at the same moment on another connection (the unique constraint decides; the stored row is
    compared). Records that reverse another are taken one by one after the rest."""
    receipts: list[Receipt | None] = [None] * len(records)
    valid: dict[int, tuple] = {}
    for index, record in enumerate(records):
        try:
            valid[index] = (parse_settlement(record), content_hash(record))
        except RecordInvalid as exc:
            settlement_id = record.get("settlement_id") if isinstance(record, dict) else None
            receipts[index] = Receipt(REFUSED, settlement_id if isinstance(settlement_id, str) else None, exc.errors)
    plain = {i: v for i, v in valid.items() if not v[0].reverses}
    existing = {s.settlement_id: s for s in Settlement.objects.filter(
        source=source, settlement_id__in={p.settlement_id for p, _ in plain.values()})}
    match = _matcher(source, [p for p, _ in plain.values()])
    new: dict[str, Settlement] = {}
    for index, (parsed, digest) in plain.items():
        if parsed.settlement_id not in existing and parsed.settlement_id not in new:
            policy, reason = match(parsed)
            new[parsed.settlement_id] = _settlement(source, records[index], parsed, digest, policy, reason)
    with transaction.atomic():
        if new:
            Settlement.objects.bulk_create(new.values(), ignore_conflicts=True)
            stored = {s.settlement_id: s for s in Settlement.objects.filter(source=source, settlement_id__in=new)}
            existing.update(stored)
            for policy_id in sorted({s.policy_id for s in stored.values() if s.policy_id}):
                transaction.on_commit(lambda pid=policy_id: _enqueue(pid))
    for index, (parsed, digest) in plain.items():
        receipts[index] = _repeat(existing[parsed.settlement_id], digest)
    for index in sorted(set(valid) - set(plain)):
        receipts[index] = _receive_reversing(source, records[index], *valid[index])
    return receipts


def settlement_receive(*, source: SettlementSource, record) -> Receipt:
    """One record (the staff import of a single row, a resident's keyed-in claim)."""
    return settlements_receive(source=source, records=[record])[0]


def _receive_reversing(source: SettlementSource, record, parsed, digest) -> Receipt:
    """A record that replaces another (冲正/重结算): the old one stops counting, both policy
    years are recomputed."""
    existing = Settlement.objects.filter(source=source, settlement_id=parsed.settlement_id).first()
    if existing is not None:
        return _repeat(existing, digest)
    reversed_one = None
    if parsed.reverses:
        reversed_one = Settlement.objects.filter(source=source, settlement_id=parsed.reverses).first()
        if reversed_one is None:
            return Receipt(REFUSED, parsed.settlement_id, [
                FieldError("reverses", "unknown_settlement", f"reverses（冲正的原结算单号）：未找到结算单“{parsed.reverses}”")])
        if reversed_one.reversed_at is not None:
            return Receipt(REFUSED, parsed.settlement_id, [
                FieldError("reverses", "already_reversed", f"reverses（冲正的原结算单号）：结算单“{parsed.reverses}”已被冲正")])
    policy, reason = _matcher(source, [parsed])(parsed)
    try:
        with transaction.atomic():
            settlement = _settlement(source, record, parsed, digest, policy, reason, reversed_one)
            settlement.save()
            if reversed_one is not None and not Settlement.objects.filter(
                    pk=reversed_one.pk, reversed_at__isnull=True).update(reversed_at=timezone.now()):
                raise IntegrityError("reversed meanwhile")
            for policy_id in {p for p in (policy and policy.pk, reversed_one and reversed_one.policy_id) if p}:
                transaction.on_commit(lambda pid=policy_id: _enqueue(pid))
    except IntegrityError:
        # The same id arrived at the same moment on another connection: answer as for a repeat;
        # or another record reversed the same settlement first.
        existing = Settlement.objects.filter(source=source, settlement_id=parsed.settlement_id).first()
        if existing is not None:
            return _repeat(existing, digest)
        return Receipt(REFUSED, parsed.settlement_id, [
            FieldError("reverses", "already_reversed", f"reverses（冲正的原结算单号）：结算单“{parsed.reverses}”已被冲正")])
    return Receipt(ACCEPTED_STATUS, parsed.settlement_id, settlement=settlement)


def _repeat(existing: Settlement, digest: str) -> Receipt:
    if existing.content_hash == digest:
        return Receipt(ACCEPTED_STATUS, existing.settlement_id, settlement=existing)
    return Receipt(CONFLICT, existing.settlement_id, [FieldError(
        "settlement_id", "conflict", f"settlement_id（结算单号）：“{existing.settlement_id}”已以不同内容接收，不会覆盖；更正请以新单号冲正")])


def settlement_reverse(*, source: SettlementSource, settlement_id: str) -> Receipt:
    """A pure reversal (冲正 without a replacement): the settlement stops counting; the policy year
    is recomputed and what was paid for it is taken back by an adjustment, never by an edit."""
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().filter(source=source, settlement_id=settlement_id).first()
        if settlement is None:
            return Receipt(REFUSED, settlement_id, [FieldError(
                "settlement_id", "unknown_settlement", f"settlement_id（结算单号）：未找到结算单“{settlement_id}”")])
        if settlement.reversed_at is None:
            settlement.reversed_at = timezone.now()
            settlement.save(update_fields=["reversed_at"])
            if settlement.policy_id:
                transaction.on_commit(lambda: _enqueue(settlement.policy_id))
    return Receipt(ACCEPTED_STATUS, settlement_id, settlement=settlement)


def _enqueue(policy_id: int) -> None:
    from claims.tasks import recompute_policy_year

    recompute_policy_year.delay(policy_id)


# --- Recomputing a policy year ----------------------------------------------------------------


def _facts(policy: Policy) -> PolicyFacts:
    return PolicyFacts(
        id_number=policy.person.id_number,
        coverage_start=policy.coverage_start,
        coverage_end=policy.coverage_end,
        consecutive_years=policy.consecutive_years,
        medical_assistance=policy.medical_assistance,
    )


CLAIM_DECISION_FIELDS = ["payout", "outcome", "reason", "state", "flags", "rejection_code", "first_approver",
                         "second_approver", "decided_at", "updated_at"]
_CONFIGS: dict[int, object] = {}


def _config(plan):
    """The plan's benefit configuration. A published version cannot change (a database trigger
    refuses it), so its configuration is read once per process; a draft's is read every time."""
    if plan.pk in _CONFIGS:
        return _CONFIGS[plan.pk]
    full = selectors.plan_with_config(product=plan.version.slug, plan=plan.code)
    config = selectors.benefit_config(full)
    if full.version.status == full.version.PUBLISHED:
        _CONFIGS[plan.pk] = config
    return config


def _withdrawn(claim: Claim, settlement: Settlement) -> str:
    if settlement.reversed_at:
        return "原结算单已冲正，赔付冲回"
    if claim.rejected_by_id:
        return f"审核拒赔（{claim.rejection_label}），赔付冲回"
    return "本次重算不再赔付，赔付冲回"


def _review_flags(claim: Claim) -> list[str]:
    flags = []
    if claim.payout > settings.CLAIM_AUTO_APPROVE_LIMIT:
        flags.append("above_auto_limit")
    if claim.settlement.effective_pre_existing:
        flags.append("pre_existing")
    if claim.settlement.source.kind == SettlementSource.RESIDENT:
        flags.append("manual_entry")
    if claim.paid_amount and claim.paid_amount != claim.payout:
        flags.append("adjusted_after_payment")
    return flags


def _decide_by_rules(claim: Claim, outcome) -> None:
    """received/calculated/…/paid → calculated → approved automatically, held for review, or
    rejected by the rules. Money already paid that no longer should be goes to a reviewer."""
    claim.calculate()
    claim.flags = _review_flags(claim)
    if (outcome is None or outcome.status != ACCEPTED) and not claim.paid_amount:
        claim.flags, claim.rejection_code = [], claim.reason
        claim.reject_by_rules()
    elif claim.flags:
        claim.rejection_code = ""
        claim.hold_for_review()
    else:
        claim.rejection_code = ""
        claim.approve_automatically()
        _approved(claim)


def _account(policy):
    """Whom to tell about the policy's claims: the insured person's account, else the buyer's."""
    if not hasattr(policy, "_notify_account"):
        policy._notify_account = (Resident.objects.filter(person_id=policy.person_id).first()
                                  or Resident.objects.filter(orders__policies=policy).first())
    return policy._notify_account


def _approved(claim: Claim) -> None:
    """After any approval: a claim already paid in full is paid again; otherwise the insured
    person's account (or the buyer's) is told by SMS when there is money to pay."""
    claim.decided_at = timezone.now()
    if claim.paid_amount and claim.payable == 0:
        claim.mark_paid()
        return
    if claim.payable <= 0:
        return
    account = _account(claim.policy)
    if account is not None:
        phone, amount = account.phone, f"{claim.payable:.2f}"
        transaction.on_commit(lambda: sms.send(phone=phone, template="payout_approved", amount=amount))


def policy_year_recompute(*, policy_id: int, reason: str = "") -> int:
    """Recompute the whole policy year under a row lock and write only the difference.

    Returns the number of claim lines written (0 when nothing changed: running it twice, or a
    redelivered task, changes nothing)."""
    with transaction.atomic():
        PolicyYear.objects.get_or_create(policy_id=policy_id)
        year = PolicyYear.objects.select_for_update().get(policy_id=policy_id)
        policy = Policy.objects.select_related("person", "plan__version").get(pk=policy_id)
        plan = policy.plan
        settlements = list(Settlement.objects.filter(policy=policy).select_related("source")
                           .order_by("settled_at", "settlement_id"))
        claims = {c.settlement_id: c for c in Claim.objects.filter(settlement__in=settlements).select_for_update()}
        fresh = {s.pk: Claim(settlement=s, policy=policy) for s in settlements if s.pk not in claims}
        claims.update(fresh)
        # A reversed settlement, or one a reviewer rejected, no longer uses the year's deductible or limits.
        live = [s for s in settlements
                if s.reversed_at is None and not (s.pk in claims and claims[s.pk].rejected_by_id)]
        inputs = [replace(parse_settlement(s.record), pre_existing=s.effective_pre_existing) for s in live]
        result = adjudicate_year(_config(plan), _facts(policy), inputs)
        by_id = {r.settlement_id: r for r in result.results}
        recorded: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for line in ClaimLine.objects.filter(claim__in=[c for c in claims.values() if c.pk]):
            recorded[line.claim_id][line.responsibility] += line.payout

        revision = year.revision + 1
        lines, changed = [], []
        for settlement in settlements:
            outcome = by_id.get(settlement.settlement_id) if settlement in live else None
            claim = claims[settlement.pk]
            claim.settlement, claim.policy = settlement, policy
            target = {line.responsibility: line for line in outcome.lines} if outcome else {}
            before = recorded[claim.pk] if claim.pk else {}
            new_lines = []
            for code in sorted(set(target) | set(before)):
                line = target.get(code)
                difference = (line.payout if line else Decimal("0.00")) - before.get(code, Decimal("0.00"))
                if difference == 0 and (line is None or code in before):
                    continue
                new_lines.append(ClaimLine(
                    claim=claim,
                    responsibility=code,
                    kind=ClaimLine.ADJUSTMENT if before else ClaimLine.ORIGINAL,
                    covered=line.covered if line else Decimal("0.00"),
                    deductible=line.deductible if line else Decimal("0.00"),
                    payout=difference,
                    explanation=line.explanation if line else _withdrawn(claim, settlement),
                    reason=reason if before else "",
                    revision=revision,
                ))
            if not new_lines and claim.state != Claim.RECEIVED:
                continue
            lines += new_lines
            claim.payout = sum((ln.payout for ln in target.values()), Decimal("0.00"))
            claim.outcome = outcome.status if outcome else "reversed" if settlement.reversed_at else "withdrawn"
            claim.reason = (outcome.reason or "") if outcome else claim.outcome
            if claim.rejected_by_id is None:
                _decide_by_rules(claim, outcome)
            claim.updated_at = timezone.now()
            if claim.pk:
                changed.append(claim)
        # New claims are written with their decision in one statement; only earlier claims are updated.
        Claim.objects.bulk_create(fresh.values())
        ClaimLine.objects.bulk_create(lines)  # each line takes its new claim's primary key here
        Claim.objects.bulk_update(changed, CLAIM_DECISION_FIELDS)
        written = len(lines)

        year.deductible_used = {k: str(v) for k, v in result.state.deductible_used.items()}
        year.band_position = result.state.band_position
        year.cumulative = {k: str(v) for k, v in result.state.cumulative.items()}
        year.paid = {k: str(v) for k, v in result.state.paid.items()}
        year.revision = revision if written else year.revision
        year.computed_at = timezone.now()
        year.save()
    if written:
        logger.info("policy year %s recomputed: %d claim lines written", policy_id, written)
    return written


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
    return Claim.objects.select_for_update().select_related("settlement__source", "policy__order").get(pk=claim_id)


def claim_approve(*, claim_id: int, user, note: str = "") -> Claim:
    """A reviewer approves a claim held for review; above ``CLAIM_SECOND_APPROVAL_LIMIT`` it then
    waits for a second approver, who must be someone else (also a database constraint)."""
    with transaction.atomic(), _audit(user, "approve", note):
        claim = _locked_claim(claim_id)
        if claim.state == Claim.PENDING_REVIEW:
            if not user.has_perm("claims.review_claim"):
                raise ReviewRefused("forbidden", "您没有审核理赔的权限")
            claim.first_approver = user
            if claim.payout > settings.CLAIM_SECOND_APPROVAL_LIMIT:
                claim.approve_first()
            else:
                claim.approve()
                _approved(claim)
        elif claim.state == Claim.PENDING_SECOND:
            if not user.has_perm("claims.second_approve_claim"):
                raise ReviewRefused("forbidden", "您没有复核大额理赔的权限")
            if claim.first_approver_id == user.pk:
                raise ReviewRefused("four_eyes", "大额理赔须由另一位复核人审批，审核人不能复核自己审核的理赔")
            claim.second_approver = user
            claim.approve()
            _approved(claim)
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


# --- Payment batches -------------------------------------------------------------------------


def payout_batch_create(*, program, user) -> PayoutBatch:
    """Every approved claim of the program with money still to pay (or to recover) and not
    waiting in another batch. The partial unique index on pending items makes two batches
    created at the same moment unable to take the same claim."""
    with transaction.atomic(), _audit(user, "payout_batch"):
        if not user.has_perm("claims.manage_payout_batch"):
            raise ReviewRefused("forbidden", "您没有管理赔款支付批次的权限")
        claims = list(
            Claim.objects.select_for_update()
            .filter(policy__version__program=program, state=Claim.APPROVED)
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


# --- Staff import and residents' out-of-region claims -----------------------------------------


def _source(program, kind: str) -> SettlementSource:
    names = dict(SettlementSource.KIND_CHOICES)
    code = f"{kind}-{program.code}"
    source, _ = SettlementSource.objects.get_or_create(
        code=code, defaults={"name": f"{program.city}{names[kind]}", "program": program, "kind": kind, "key_id": code})
    return source


def settlements_import(*, program, rows: list[dict[str, str]], user) -> list[Receipt]:
    """Staff import of a CSV/XLSX: each row flattened into the record shape and validated exactly as
    the API validates it; good rows are kept even when others are refused."""
    from claims.rules.records import flatten_row

    source = _source(program, SettlementSource.STAFF)
    with _audit(user, "import"):
        return settlements_receive(source=source, records=[flatten_row(row) for row in rows])


def claim_submission_create(*, resident, policy, hospital_name: str, admission_date, discharge_date,
                            description: str, files) -> ClaimSubmission:
    """A resident's out-of-region claim with its documents (already checked by the form)."""
    with transaction.atomic():
        submission = ClaimSubmission.objects.create(
            number=f"RC{timezone.localtime():%Y%m%d}{secrets.token_hex(4).upper()}",
            resident=resident, policy=policy, hospital_name=hospital_name, admission_date=admission_date,
            discharge_date=discharge_date, description=description,
        )
        for upload in files:
            SubmissionDocument.objects.create(
                submission=submission, file=upload, original_name=upload.name[:200],
                content_type=upload.content_type, size=upload.size)
    return submission


def claim_submission_key(*, submission_id: int, user, record: dict) -> Receipt:
    """Staff key in the settlement sheet's amounts; the record goes through the same validation
    and the same engine as the feed (source ``resident``)."""
    with transaction.atomic(), _audit(user, "key_in"):
        submission = ClaimSubmission.objects.select_for_update().select_related(
            "policy__person", "policy__version__program").get(pk=submission_id)
        if submission.status != ClaimSubmission.SUBMITTED:
            raise ReviewRefused("not_submitted", "该申请已处理")
        person = submission.policy.person
        record = {**record, "settlement_id": submission.number, "id_number": person.id_number, "name": person.name}
        receipt = settlement_receive(source=_source(submission.policy.version.program, SettlementSource.RESIDENT),
                                     record=record)
        if receipt.status != ACCEPTED_STATUS:
            transaction.set_rollback(True)
            return receipt
        submission.status, submission.settlement = ClaimSubmission.KEYED, receipt.settlement
        submission.save(update_fields=["status", "settlement"])
    return receipt


def claim_submission_refuse(*, submission_id: int, user, reason: str) -> None:
    if not reason.strip():
        raise ReviewRefused("refusal_reason", "请填写退回原因")
    with transaction.atomic(), _audit(user, "refuse_submission", reason):
        submission = ClaimSubmission.objects.select_for_update().get(pk=submission_id)
        if submission.status != ClaimSubmission.SUBMITTED:
            raise ReviewRefused("not_submitted", "该申请已处理")
        submission.status, submission.refusal_reason = ClaimSubmission.REFUSED, reason.strip()
        submission.save(update_fields=["status", "refusal_reason"])
