"""On a phone, an operator fixes a bad row of a beneficiary list: the row, the list's figures and the
confirm button change in place (htmx, no reload); with nobody valid the button is disabled."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment import lists, organizations, services
from enrollment.models import BeneficiaryList, ProductVersion
from tests.e2e.test_payment_outcomes import sign_in
from tests.factories import SELF_ID, make_id, make_resident, roster

pytestmark = pytest.mark.django_db(transaction=True)
WORKER = make_id("62060219800101011")


@pytest.fixture
def bad_list(products):
    today = timezone.localdate()
    version = services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-e2e-rows",
                                    year=today.year + 1)
    version.sales_start, version.sales_end = today - timedelta(days=1), today + timedelta(days=30)
    version.coverage_start, version.coverage_end = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    version.save()
    services.version_publish(version=version)
    roster(SELF_ID, "张桂兰")
    roster(WORKER, "赵一")
    manager = make_resident()
    from stdnum.cn import uscc

    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code="91620600MA71X0AB3" + uscc.calc_check_digit(
            "91620600MA71X0AB3"), kind="employer", contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    beneficiaries = lists.list_upload(resident=manager, plan=version.plans.get(code="basic"), filename="名单.csv",
                                      organization=organization, data="姓名,身份证号,手机号\n1,6.20602E+17,123\n".encode())
    lists.list_validate(list_id=beneficiaries.pk)
    return manager, BeneficiaryList.objects.get(pk=beneficiaries.pk)


def test_fixing_a_row_updates_the_figures_and_the_button_in_place(phone, live_server, bad_list):
    manager, beneficiaries = bad_list
    sign_in(phone, live_server, manager)
    phone.goto(f"/lists/{beneficiaries.number}/")
    confirm = phone.locator("#list-confirm button")
    assert confirm.is_disabled() and "确认为 0 人" not in confirm.inner_text()
    row = phone.locator("tr[data-status=invalid]")
    assert "科学计数法" in row.inner_text() and "姓名应为" in row.inner_text() and "手机号应为" in row.inner_text()

    phone.evaluate("window.notReloaded = true")
    row.get_by_label("姓名").fill("赵一")
    row.get_by_label("身份证号").fill(WORKER)
    row.get_by_label("手机号").fill("")
    row.get_by_role("button", name="修改并校验").click()
    phone.locator("tr[data-status=valid]").wait_for()
    phone.get_by_role("button", name=re.compile("确认为 1 人下单，合计 69.00 元")).wait_for()
    assert phone.locator('[data-count="valid"]').inner_text() == "1"
    assert phone.locator('[data-count="invalid"]').inner_text() == "0"
    assert phone.evaluate("window.notReloaded") is True  # in place, not by reloading the page
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
