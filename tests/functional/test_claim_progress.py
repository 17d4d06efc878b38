"""Claim progress (issue 15): each stage recorded with its time by the service that causes it, an SMS
at each change the resident should know of, and documents requested by staff with a reason and
uploaded by the resident on the claim's page, then reviewed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import services
from claims.models import Claim, ClaimDocument, ClaimStage
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from portal.staff.models import AccessLog
from tests.documents import JPEG, PDF
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    active_policy,
    login_as,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
    verified_payee,
)

pytestmark = pytest.mark.django_db
LARGE = {"in_catalog_self_pay": "60000.00"}  # pays 17,200.00: above the automatic limit, held for review


@pytest.fixture
def resident(products):
    roster(SELF_ID, "张桂兰")
    return make_resident()


@pytest.fixture
def policy(resident):
    return active_policy(resident)


def received(policy, *records, capture):
    source = settlement_source()
    with capture(execute=True):
        for record in records:
            services.settlement_receive(source=source, record=record)
        services.policy_year_recompute(policy_id=policy.pk)
    return {c.settlement.settlement_id: c for c in Claim.objects.select_related("settlement", "policy__person")}


def stages(claim) -> list[str]:
    return list(ClaimStage.objects.filter(claim=claim).order_by("at", "id").values_list("stage", flat=True))


def texts(name) -> list[str]:
    return list(SmsMessage.objects.filter(template_id=template_id(name)).values_list("body", flat=True))


def test_a_held_claim_goes_through_review_approval_and_payment_with_an_sms_at_each_change(
        client, resident, policy, django_capture_on_commit_callbacks):
    payee = verified_payee(policy.person)
    claim = received(policy, settlement_record("S1", **LARGE), capture=django_capture_on_commit_callbacks)["S1"]
    assert stages(claim) == ["received", "calculated", "in_review"]
    assert len(texts("claim_in_review")) == 1 and "S1" in texts("claim_in_review")[0]
    first = ClaimStage.objects.filter(claim=claim).order_by("at", "id").first()
    assert first.at == claim.settlement.received_at

    approver = staff_user("approver", "理赔复核人")
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_approve(claim_id=claim.pk, user=approver, note="票据齐全")
    assert stages(claim)[-1] == "approved" and "17200.00" in texts("payout_approved")[0]
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.payout_batch_create(program=policy.version.program, user=approver)
        services.payout_batch_reconcile(batch_id=batch.pk, user=approver)
    batch.refresh_from_db()
    paid = ClaimStage.objects.filter(claim=claim).order_by("at", "id").last()
    assert paid.stage == "paid" and paid.at == batch.reconciled_at and payee.card_masked in paid.note
    assert "17200.00" in texts("claim_paid")[0] and payee.card_masked[-4:] in texts("claim_paid")[0]

    login_as(client, resident.user)
    html = client.get(f"/claims/{claim.pk}/").content.decode()
    for label in ("已接收结算信息", "已计算赔付", "人工审核中", "审核通过", "赔款已支付"):
        assert label in html
    assert "赔款已支付" in client.get("/claims/").content.decode()


def test_a_claim_approved_by_the_rules_is_received_calculated_and_approved(
        resident, policy, django_capture_on_commit_callbacks):
    claim = received(policy, settlement_record("S1"), capture=django_capture_on_commit_callbacks)["S1"]
    assert stages(claim) == ["received", "calculated", "approved"]
    assert not texts("claim_in_review")


def test_a_rejection_is_a_stage_with_its_reason_and_an_sms(resident, policy, django_capture_on_commit_callbacks):
    claim = received(policy, settlement_record("S1", **LARGE), capture=django_capture_on_commit_callbacks)["S1"]
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_reject(claim_id=claim.pk, user=staff_user("reviewer", "理赔审核员"), code="fraud_suspected",
                              note="票据存疑")
    assert stages(claim)[-1] == "rejected"  # the recomputation that takes the payout back adds no stage
    assert ClaimStage.objects.filter(claim=claim, stage="rejected").get().note == "疑似虚假或欺诈理赔（票据存疑）"
    assert "疑似虚假或欺诈理赔" in texts("claim_rejected")[0]


def test_documents_requested_uploaded_on_the_claim_page_then_reviewed(
        client, resident, policy, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    claim = received(policy, settlement_record("S1", **LARGE), capture=django_capture_on_commit_callbacks)["S1"]
    reviewer = staff_user("reviewer", "理赔审核员")
    login_as(client, reviewer)
    response = client.post(f"/admin/claims/claim/{claim.pk}/request-documents/", {"reason": " "})
    assert response.status_code == 422 and not claim.document_requests.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/claims/claim/{claim.pk}/request-documents/",
                               {"reason": "请补充出院小结和费用明细清单"})
    assert response.status_code == 302
    assert stages(claim)[-1] == "documents_requested"
    assert "请补充出院小结和费用明细清单" in texts("claim_documents_requested")[0]
    with pytest.raises(services.ReviewRefused) as twice:
        services.claim_documents_request(claim_id=claim.pk, user=reviewer, reason="再要一次")
    assert twice.value.code == "open_request"

    login_as(client, resident.user)
    listing = client.get("/claims/").content.decode()
    assert "需补充材料：请补充出院小结和费用明细清单" in listing
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "请补充出院小结和费用明细清单" in page and 'enctype="multipart/form-data"' in page
    bad = client.post(f"/claims/{claim.pk}/", {"documents": [SimpleUploadedFile("小结.pdf", b"MZ not a pdf")]})
    assert bad.status_code == 422 and "不是 JPG、PNG 或 PDF 文件" in bad.content.decode()
    assert not ClaimDocument.objects.exists() and stages(claim)[-1] == "documents_requested"
    done = client.post(f"/claims/{claim.pk}/", {"documents": [SimpleUploadedFile("出院小结.pdf", PDF),
                                                              SimpleUploadedFile("费用清单.jpg", JPEG)],
                                                "note": "费用清单随后补"})
    assert done.status_code == 302 and stages(claim)[-1] == "documents_received"
    document, photo = ClaimDocument.objects.order_by("pk")
    assert (document.content_type, photo.content_type) == ("application/pdf", "image/jpeg")

    # Stored sealed with the field key ring, under a random name: nothing of the upload on disk.
    stored = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(stored) == 2
    for path in stored:
        data = path.read_bytes()
        assert b"%PDF" not in data and b"\xff\xd8\xff" not in data and b"JFIF" not in data, path
        assert "出院小结" not in path.name and path.suffix == ".bin"

    # The owner gets the exact bytes back as a download typed by content, never cached.
    served = client.get(f"/claims/{claim.pk}/documents/{document.pk}/")
    assert served.status_code == 200 and served.content == PDF
    assert served["Content-Type"] == "application/pdf" and served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("attachment;") and served["Cache-Control"] == "no-store"
    image = client.get(f"/claims/{claim.pk}/documents/{photo.pk}/")
    assert image["Content-Type"] == "image/jpeg" and image.content.startswith(b"\xff\xd8\xff")
    assert image["Content-Disposition"].startswith("attachment;")

    other = make_resident(phone="13800000002", name="李秀英", id_number=MOTHER_ID)
    login_as(client, other.user)
    assert client.get(f"/claims/{claim.pk}/").status_code == 404
    assert client.get(f"/claims/{claim.pk}/documents/{document.pk}/").status_code == 404

    login_as(client, reviewer)
    review = client.get(f"/admin/claims/claim/{claim.pk}/change/").content.decode()
    assert "出院小结.pdf" in review and "费用清单随后补" in review
    served = client.get(f"/admin/claims/claim/{claim.pk}/documents/{document.pk}/")
    assert served.content == PDF and served["Content-Disposition"].startswith("attachment;")
    assert served["X-Content-Type-Options"] == "nosniff" and "no-store" in served["Cache-Control"]
    read = AccessLog.objects.get(action=AccessLog.DOWNLOAD)
    assert (read.username, read.object_type, read.object_id) == ("reviewer", "claims.claim", str(claim.pk))
    assert read.detail == f"document_id={document.pk}"
    services.claim_approve(claim_id=claim.pk, user=staff_user("approver", "理赔复核人"))
    claim.refresh_from_db()
    assert claim.state == Claim.APPROVED and claim.payout == Decimal("17200.00")
    assert stages(claim)[-3:] == ["documents_requested", "documents_received", "approved"]


def test_documents_stored_before_sealing_are_encrypted_in_place_by_the_migration(
        resident, policy, settings, tmp_path, django_capture_on_commit_callbacks):
    import importlib

    from django.apps import apps

    from claims.models import DocumentRequest
    from portal import storage

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    claim = received(policy, settlement_record("S1", **LARGE), capture=django_capture_on_commit_callbacks)["S1"]
    request = DocumentRequest.objects.create(claim=claim, reason="请补充出院小结",
                                             requested_by=staff_user("reviewer", "理赔审核员"))
    old = ClaimDocument.objects.create(request=request, file=SimpleUploadedFile("出院小结.pdf", PDF),
                                       original_name="出院小结.pdf", content_type="application/pdf", size=len(PDF))
    assert open(old.file.path, "rb").read() == PDF  # as the upload did before
    migration = importlib.import_module("claims.migrations.0012_seal_claim_progress_documents")
    migration.seal(apps, None)
    old.refresh_from_db()
    sealed = open(old.file.path, "rb").read()
    assert b"%PDF" not in sealed and storage.unsealed(old.file) == PDF
    migration.seal(apps, None)  # a second run leaves a sealed file alone
    assert open(old.file.path, "rb").read() == sealed
