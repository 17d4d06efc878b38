"""Staff import of settlements, and residents' out-of-region claims keyed in by staff."""

from __future__ import annotations

import logging
import secrets

from django.db import transaction
from django.utils import timezone

from claims.models import (
    ClaimSubmission,
    SettlementSource,
    SubmissionDocument,
)
from claims.services.intake import ACCEPTED_STATUS, Receipt, settlement_receive, settlements_receive
from claims.services.review import ReviewRefused, _audit
from portal import storage

logger = logging.getLogger(__name__)


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
    """A resident's out-of-region claim with its documents: each checked by content (the form has
    done so already and kept the result), stored re-encoded and sealed with the field key ring."""
    documents = [(upload, getattr(upload, "checked", None) or storage.document_check(upload, label="结算单据"))
                 for upload in files]
    with transaction.atomic():
        submission = ClaimSubmission.objects.create(
            number=f"RC{timezone.localtime():%Y%m%d}{secrets.token_hex(4).upper()}",
            resident=resident, policy=policy, hospital_name=hospital_name, admission_date=admission_date,
            discharge_date=discharge_date, description=description,
        )
        for upload, document in documents:
            file = storage.sealed(document)
            file.name = f"{secrets.token_hex(8)}.bin"
            SubmissionDocument.objects.create(
                submission=submission, file=file, original_name=str(upload.name)[:200],
                content_type=document.kind, size=len(document.content))
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
