"""The access log of staff reads of personal data (issue 13): claim and person pages, documents,
searches and every export are logged; auditors search the log; nobody edits or deletes it."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InternalError, ProgrammingError, transaction
from django.test import Client
from django.urls import reverse

from claims import services
from claims.models import Claim
from enrollment.models import Order
from portal.staff.models import AccessLog
from tests.factories import (
    SELF_ID,
    active_policy,
    login_as,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
)

pytestmark = pytest.mark.django_db
from tests.documents import PDF  # noqa: E402 - a real PDF (documents are checked by content)


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    return active_policy(make_resident())


def staff(*groups, username="reviewer", superuser=False) -> tuple[Client, object]:
    client = Client()
    user = staff_user(username, *groups, superuser=superuser)
    login_as(client, user)
    return client, user


def only_entry(**filters) -> AccessLog:
    entries = list(AccessLog.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def test_a_claim_page_and_a_person_page_are_logged(policy):
    services.settlement_receive(source=settlement_source(), record=settlement_record("S1"))
    services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get()
    client, user = staff("理赔审核员")
    assert client.get(reverse("admin:claims_claim_change", args=[claim.pk])).status_code == 200
    entry = only_entry(action=AccessLog.VIEW, object_type="claims.claim")
    assert (entry.username, entry.user_id, entry.object_id) == ("reviewer", user.pk, str(claim.pk))
    assert entry.route == "admin:claims_claim_change" and entry.ip == "127.0.0.1"

    root, _ = staff(username="root", superuser=True)
    assert root.get(reverse("admin:enrollment_person_change", args=[policy.person_id])).status_code == 200
    assert only_entry(username="root", action=AccessLog.VIEW).object_type == "enrollment.person"
    root.get(reverse("admin:enrollment_person_changelist"), {"q": "张桂兰"})
    search = only_entry(username="root", action=AccessLog.SEARCH)
    assert "张桂兰" not in search.detail and search.object_type == "enrollment.person"
    root.get(reverse("admin:index"))  # nothing personal: nothing logged
    assert AccessLog.objects.count() == 3


def test_a_claim_document_download_is_logged(policy):
    submission = services.claim_submission_create(
        resident=policy.order.resident, policy=policy, hospital_name="兰州大学第一医院", admission_date=date(2025, 8, 1),
        discharge_date=date(2025, 8, 3), description="异地住院",
        files=[SimpleUploadedFile("结算单.pdf", PDF, "application/pdf")])
    document = submission.documents.get()
    client, _ = staff("理赔审核员")
    response = client.get(reverse("admin:claims_claimsubmission_document", args=[submission.pk, document.pk]))
    assert response.status_code == 200
    entry = only_entry(action=AccessLog.DOWNLOAD)
    assert entry.object_type == "claims.claimsubmission" and entry.object_id == str(submission.pk)
    assert entry.detail == f"document_id={document.pk}"


def test_every_export_is_logged_with_its_size(policy):
    client, _ = staff(username="root", superuser=True)
    orders = list(Order.objects.values_list("pk", flat=True))
    response = client.post(reverse("admin:enrollment_order_changelist"),
                           {"action": "export_csv", "_selected_action": orders})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    entry = only_entry(action=AccessLog.EXPORT)
    assert entry.object_type == "enrollment.order" and entry.count == len(orders) and "export_csv" in entry.detail

    dashboard = client.get(reverse("supervision:export", args=["channels", "csv"]))
    assert dashboard.status_code == 200
    assert AccessLog.objects.filter(action=AccessLog.EXPORT, object_type="supervision.dashboard",
                                    object_id="channels").exists()


def test_auditors_search_the_log_and_nobody_changes_it(policy):
    reviewer, _ = staff("理赔审核员")
    reviewer.get(reverse("admin:enrollment_person_change", args=[policy.person_id]))  # not permitted
    reviewer.get(reverse("admin:claims_claimsubmission_changelist"), {"q": "x"})
    entry = AccessLog.objects.get()

    auditor, _ = staff("理赔审计员", username="auditor")
    listing = auditor.get(reverse("admin:staff_accesslog_changelist"), {"q": "reviewer"})
    assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [entry]
    assert auditor.get(reverse("admin:staff_accesslog_changelist"), {"q": "nobody"}).context["cl"].result_count == 0
    assert reviewer.get(reverse("admin:staff_accesslog_changelist")).status_code == 403

    root, _ = staff(username="root", superuser=True)
    change = reverse("admin:staff_accesslog_change", args=[entry.pk])
    assert root.post(change, {"username": "someone-else"}).status_code == 403
    assert root.post(reverse("admin:staff_accesslog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert root.get(reverse("admin:staff_accesslog_add")).status_code == 403
    assert root.post(reverse("admin:staff_accesslog_changelist"),
                     {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}).status_code in (200, 302)
    assert AccessLog.objects.filter(pk=entry.pk, username="reviewer").exists()

    for write in (lambda: AccessLog.objects.filter(pk=entry.pk).update(username="x"),
                  lambda: AccessLog.objects.filter(pk=entry.pk).delete()):
        with pytest.raises((InternalError, IntegrityError, ProgrammingError)), transaction.atomic():
            write()
    assert AccessLog.objects.get(pk=entry.pk).username == "reviewer"
