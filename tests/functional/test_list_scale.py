"""Organization lists at any size (issue 18): every list page, report and export in a constant
number of queries, and confirming as a Celery task, the page answering at once with a progress bar.

A 50,000-row list's page took 21–24 s (one query per row from a deferred field in the valid
amount) and its confirm 20–25 s inside one request."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollment import lists
from enrollment.models import BeneficiaryList, BeneficiaryRow, Order, Plan, Policy
from portal import crypto
from tests.factories import login_as, make_id, staff_user
from tests.functional.test_organizations import _window, employer, manager  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def _list(organization, uploader, size: int) -> BeneficiaryList:
    """A validated list written straight into the tables: 80% valid, the rest invalid or dropped."""
    plan = Plan.objects.get(version__slug="wuwei-2025", code="basic")
    beneficiaries = BeneficiaryList.objects.create(
        number=f"L{size:08d}", organization=organization, uploaded_by=uploader, channel="employer", plan=plan,
        file_name="名单.csv", total_rows=size, processed_rows=size, status=BeneficiaryList.VALIDATED)
    rows = []
    for n in range(size):
        id_number = make_id(f"620602{1950 + n // 336}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}{size % 1000:03d}")
        valid = n % 5 != 0
        rows.append(BeneficiaryRow(
            list=beneficiaries, row_number=n + 2, name=f"员工{n}", id_cipher=crypto.encrypt(id_number) if valid else "",
            id_hash=crypto.blind_index(id_number) if valid else "", id_masked=id_number[:6] + "********" + id_number[-4:],
            phone="13800000000",
            status=BeneficiaryRow.VALID if valid else BeneficiaryRow.DROPPED if n % 10 == 0 else BeneficiaryRow.INVALID,
            code="" if valid else "name_invalid", message="基本医保参保正常" if valid else "姓名有误",
            price=Decimal("69.00") if valid else None))
    BeneficiaryRow.objects.bulk_create(rows, batch_size=2000)
    return beneficiaries


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def _count_everything(client, admin_client, beneficiaries) -> dict[str, int]:
    detail = reverse("enrollment:list_detail", args=[beneficiaries.number])
    counts = {}
    for status in ("", "valid", "invalid"):
        counts[f"page {status}"] = _queries(lambda s=status: client.get(detail, {"status": s} if s else {}))
    counts["report"] = _queries(lambda: client.get(reverse("enrollment:list_report", args=[beneficiaries.number])))
    for model in ("beneficiaryrow", "beneficiarylist"):
        url = reverse(f"admin:enrollment_{model}_changelist")
        counts[f"admin {model}"] = _queries(lambda u=url: admin_client.get(u))
        counts[f"admin export {model}"] = _queries(lambda u=url: admin_client.post(
            u, {"action": "export_xlsx", "select_across": "1", "index": "0", "_selected_action": ["1"]}))
    return counts


def test_list_pages_reports_and_exports_take_the_same_queries_at_10_and_1000_rows(client, manager, employer):  # noqa: F811
    login_as(client, manager.user)
    admin_client = type(client)()
    login_as(admin_client, staff_user("admin", superuser=True))
    small, large = _list(employer, manager, 10), _list(employer, manager, 1000)

    assert _count_everything(client, admin_client, small) == _count_everything(client, admin_client, large)
    page = client.get(reverse("enrollment:list_detail", args=[large.number])).content.decode()
    assert 'data-count="valid">800<' in page and "合计 55,200.00 元" in page

    report = client.get(reverse("enrollment:list_report", args=[large.number]))
    from io import BytesIO

    from openpyxl import load_workbook

    assert load_workbook(BytesIO(report.content)).active.max_row == 1001

    # Confirming: the request answers at once, the task makes the order in a constant number of queries.
    for beneficiaries in (small, large):
        response = client.post(reverse("enrollment:list_confirm", args=[beneficiaries.number]), {"declared": "1"})
        assert response.status_code == 302
        beneficiaries.refresh_from_db()
        assert beneficiaries.status == BeneficiaryList.CONFIRMING and not Order.objects.filter(
            organization=employer, beneficiary_list=beneficiaries).exists()
        progress = client.get(reverse("enrollment:list_progress", args=[beneficiaries.number]), HTTP_HX_REQUEST="true")
        assert "正在生成订单" in progress.content.decode() and 'hx-trigger="every 1s"' in progress.content.decode()
    confirm = {b.number: _queries(lambda b=b: lists.list_confirm_run(list_id=b.pk)) for b in (small, large)}
    assert confirm[small.number] == confirm[large.number]
    large.refresh_from_db()
    assert large.status == BeneficiaryList.ORDERED and large.order.amount == Decimal("55200.00")
    assert Policy.objects.filter(order=large.order).count() == 800
    done = client.get(reverse("enrollment:list_progress", args=[large.number]), HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Refresh"] == "true"
    assert _count_everything(client, admin_client, small) == _count_everything(client, admin_client, large)


def test_a_confirm_the_task_refuses_puts_the_list_back_with_the_reason(client, manager, employer):  # noqa: F811
    beneficiaries = _list(employer, manager, 10)
    login_as(client, manager.user)
    client.post(reverse("enrollment:list_confirm", args=[beneficiaries.number]), {"declared": "1"})
    import time_machine

    from enrollment import tasks

    with time_machine.travel("2027-01-01 10:00 +08:00"):  # the task runs after the sales window closed
        assert tasks.confirm_beneficiary_list.run(beneficiaries.pk) == "sales_closed"
    beneficiaries.refresh_from_db()
    assert beneficiaries.status == BeneficiaryList.VALIDATED and "不在投保期内" in beneficiaries.failure
    page = client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).content.decode()
    assert "不在投保期内" in page and not Order.objects.exists()
    assert tasks.confirm_beneficiary_list.run(beneficiaries.pk) == "not_confirming"  # a redelivery: untouched
    beneficiaries.refresh_from_db()
    assert beneficiaries.status == BeneficiaryList.VALIDATED
