"""Receiving settlements: validate, store verbatim, match to a policy, enqueue the policy year.

Flow 3 of domain.md: a settlement arrives (API or import) → validated (``claims.rules.records``)
and stored (verbatim but for the ID number, kept encrypted beside it) → on commit, a task for its policy year (``claims.services.recompute``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.models import (
    Settlement,
    SettlementSource,
)
from claims.rules.records import FieldError, RecordInvalid, parse_settlement
from claims.services.recompute import policy_years_enqueue
from enrollment import idnumber
from enrollment.models import Person, Policy
from portal import crypto

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
    stored, id_cipher = Settlement.sealed(record)  # the ID never in the JSON at rest
    return Settlement(
        source=source,
        settlement_id=parsed.settlement_id,
        record=stored,
        id_cipher=id_cipher,
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
            policy_ids = sorted({s.policy_id for s in stored.values() if s.policy_id})
            transaction.on_commit(lambda: policy_years_enqueue(policy_ids))
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
            policy_ids = {p for p in (policy and policy.pk, reversed_one and reversed_one.policy_id) if p}
            transaction.on_commit(lambda: policy_years_enqueue(policy_ids))
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
                transaction.on_commit(lambda: policy_years_enqueue([settlement.policy_id]))
    return Receipt(ACCEPTED_STATUS, settlement_id, settlement=settlement)
