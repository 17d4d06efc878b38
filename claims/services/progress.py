"""Claim progress the resident follows (issue 15): each stage recorded with its time by the service
that causes it (``ClaimStage``), an approved SMS template at each change the resident should know
of, and staff's requests for more documents answered by the resident's upload on the claim page."""

from __future__ import annotations

import logging
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.models import Claim, ClaimDocument, ClaimStage, DocumentRequest
from claims.services.recompute import _notify
from claims.services.review import ReviewRefused, _audit
from portal import storage

logger = logging.getLogger(__name__)


def claim_stage_record(*, claim: Claim, stage: str, note: str = "", at=None) -> ClaimStage:
    """Record one stage of ``claim`` (call it inside the transaction that makes the change)."""
    return ClaimStage.objects.create(claim=claim, stage=stage, note=note[:300], at=at or timezone.now())


def claim_tell(*, claim: Claim, template: str, **params) -> None:
    """One SMS about this claim to the insured person's account, else the buyer's, on commit."""
    _notify([(claim.policy, template, params)])


def claim_documents_request(*, claim_id: int, user, reason: str) -> DocumentRequest:
    """Staff ask for more documents with the reason; the resident is told by SMS and on the claim's
    page. One open request per claim (a database constraint); only a claim still to be decided."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused("reason", "请填写需补充的材料及原因")
    with transaction.atomic(), _audit(user, "request_documents", reason):
        if not user.has_perm("claims.review_claim"):
            raise ReviewRefused("forbidden", "您没有审核理赔的权限")
        claim = Claim.objects.select_for_update().select_related("settlement", "policy__person").get(pk=claim_id)
        if claim.state not in Claim.OPEN_FOR_REVIEW:
            raise ReviewRefused("not_pending", f"该理赔当前状态为“{claim.get_state_display()}”，不能要求补充材料")
        try:
            with transaction.atomic():
                request = DocumentRequest.objects.create(claim=claim, reason=reason[:300], requested_by=user)
        except IntegrityError:
            raise ReviewRefused("open_request", "该理赔已有待居民补充的材料要求") from None
        claim_stage_record(claim=claim, stage=ClaimStage.DOCUMENTS_REQUESTED, note=reason)
        claim_tell(claim=claim, template="claim_documents_requested", name=claim.policy.person.name,
                   settlement=claim.settlement.settlement_id, reason=_short(reason))
    return request


def claim_documents_upload(*, claim: Claim, resident, files, note: str = "") -> DocumentRequest:
    """The resident answers the open request with files checked by content (the form has done so
    already and kept the result: the same checks as an out-of-region submission), each stored
    re-encoded and sealed with the field key ring under a random name."""
    documents = [(upload, getattr(upload, "checked", None) or storage.document_check(upload, label="补充材料"))
                 for upload in files]
    with transaction.atomic():
        request = (DocumentRequest.objects.select_for_update()
                   .filter(claim=claim, answered_at__isnull=True).first())
        if request is None:
            raise ReviewRefused("no_request", "该理赔没有待补充的材料")
        for upload, document in documents:
            file = storage.sealed(document)
            file.name = f"{secrets.token_hex(8)}.bin"
            ClaimDocument.objects.create(request=request, file=file, original_name=str(upload.name)[:200],
                                         content_type=document.kind, size=len(document.content))
        request.answered_at, request.answer_note = timezone.now(), (note or "").strip()[:500]
        request.save(update_fields=["answered_at", "answer_note"])
        claim_stage_record(claim=claim, stage=ClaimStage.DOCUMENTS_RECEIVED, note=f"上传{len(files)}个文件")
    logger.info("claim %s: %d documents uploaded by resident %s", claim.pk, len(files), resident.pk)
    return request


def _short(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
