"""Issue 17: a beneficiary list's rows tell all their errors at once, the summary follows each fix
without a reload, and the confirm button is never offered for nobody."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from enrollment import lists
from enrollment.models import BeneficiaryList, Plan
from tests.factories import make_resident, roster
from tests.functional.test_organizations import WORKER_A, WORKER_B, csv_upload, valid_code  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _window(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        yield


@pytest.fixture
def operator(products):
    from enrollment import organizations

    roster(WORKER_A, "赵一")
    roster(WORKER_B, "钱二")
    manager = make_resident()
    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code=valid_code("91620600MA71X0AB3"), kind="employer",
        contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    return manager, organization


def _list(operator, rows):
    manager, organization = operator
    upload = csv_upload(rows)
    beneficiaries = lists.list_upload(resident=manager, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                                      filename=upload.name, organization=organization, data=upload.read())
    lists.list_validate(list_id=beneficiaries.pk)
    return BeneficiaryList.objects.get(pk=beneficiaries.pk)


def test_a_row_tells_every_error_at_once(client, operator):
    beneficiaries = _list(operator, [("1", "62060219800101", "12345")])
    row = beneficiaries.rows.get()
    assert row.status == "invalid"
    assert "身份证号应为18位" in row.message and "姓名应为2至30个汉字" in row.message and "手机号应为11位" in row.message
    client.force_login(operator[0].user)
    page = client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).content.decode()
    assert "身份证号应为18位" in page and "姓名应为2至30个汉字" in page and "手机号应为11位" in page

    fixed = client.post(reverse("enrollment:row_edit", args=[beneficiaries.number, row.pk]),
                        {"action": "fix", "name": "赵", "id_number": WORKER_A, "phone": "1"}, HTTP_HX_REQUEST="true")
    html = fixed.content.decode()
    assert fixed.status_code == 200 and 'data-status="invalid"' in html
    assert "姓名应为2至30个汉字" in html and "手机号应为11位" in html  # both, in one round


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-count="{name}">([^<]*)<', html).group(1)


def test_fixing_a_row_updates_the_summary_and_the_confirm_button_in_place(client, operator):
    beneficiaries = _list(operator, [("钱二", "6.20602E+17", "")])
    client.force_login(operator[0].user)
    page = client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).content.decode()
    assert _figure(page, "valid") == "0" and _figure(page, "invalid") == "1"
    assert "确认为 0 人下单" not in page
    assert re.search(r"<button[^>]*disabled[^>]*>没有通过校验的人员", page)

    row = beneficiaries.rows.get()
    fixed = client.post(reverse("enrollment:row_edit", args=[beneficiaries.number, row.pk]),
                        {"action": "fix", "name": "钱二", "id_number": WORKER_B, "phone": ""}, HTTP_HX_REQUEST="true")
    html = fixed.content.decode()
    assert 'data-status="valid"' in html
    # the figures and the button come along, out of band, for htmx to put in place
    assert 'id="list-counts" hx-swap-oob="true"' in html and _figure(html, "valid") == "1"
    assert _figure(html, "invalid") == "0"
    assert 'id="list-confirm" hx-swap-oob="true"' in html and "确认为 1 人下单，合计 69.00 元" in html

    dropped = client.post(reverse("enrollment:row_edit", args=[beneficiaries.number, row.pk]),
                          {"action": "drop"}, HTTP_HX_REQUEST="true").content.decode()
    assert _figure(dropped, "dropped") == "1" and "确认为 0 人下单" not in dropped and "disabled" in dropped
