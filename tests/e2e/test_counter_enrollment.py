"""At a service point, counter staff enroll a resident who has no smartphone: open the cashier
shift, check the ID card, attach the scanned signed consent, take cash, print the e-policy; the
resident later signs in on a phone and finds the policy in 我的保单."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment import services
from enrollment.models import CounterEnrollment, Policy, ProductVersion, Program, ServicePoint
from portal.integrations.sms.simulator.models import SmsMessage
from tests.documents import PDF
from tests.factories import SELF_ID, pass_second_factor, roster, staff_user, totp_device

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "13812345678"


@pytest.fixture
def on_sale(products):
    today = timezone.localdate()
    version = services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-e2e",
                                    year=today.year + 1)
    version.sales_start, version.sales_end = today - timedelta(days=1), today + timedelta(days=30)
    version.coverage_start, version.coverage_end = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    version.save()
    services.version_publish(version=version)
    roster(SELF_ID, "张桂兰")
    ServicePoint.objects.create(program=Program.objects.get(code="wuwei"), name="凉州区服务网点")
    return version


def test_counter_staff_enroll_a_resident_who_later_finds_the_policy(browser, live_server, on_sale, tmp_path,
                                                                    settings):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    authenticator = totp_device(staff_user("counter", "柜面经办"))
    consent = tmp_path / "授权书.pdf"
    consent.write_bytes(PDF)

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", base_url=live_server.url)
    page = desk.new_page()
    page.goto("/counter/")
    page.fill("#id_username", "counter")
    page.fill("#id_password", "staff-pass-2025")
    page.click("input[type=submit]")
    pass_second_factor(page, authenticator)
    page.get_by_role("heading", name="开班").wait_for()
    page.get_by_label("服务网点").select_option(label="凉州区服务网点")
    page.get_by_role("button", name="开班").click()
    page.get_by_role("link", name="办理投保").click()

    page.get_by_label("保障方案").select_option(index=1)
    page.get_by_label("姓名").fill("张桂兰")
    page.get_by_label("身份证号").fill(SELF_ID)
    page.get_by_label("手机号（可留空）").fill(PHONE)
    page.get_by_label("签字授权书扫描件").set_input_files(str(consent))
    page.get_by_label("现金").check()
    page.get_by_role("button", name="确认收款并出单").click()
    page.get_by_text("请核验居民身份证原件").wait_for()  # the ID card was not ticked: nothing taken
    assert not Policy.objects.exists()
    page.get_by_label("已核验居民身份证原件，人证一致").check()
    page.get_by_label("签字授权书扫描件").set_input_files(str(consent))
    page.get_by_role("button", name="确认收款并出单").click()

    page.get_by_role("heading", name=re.compile("电子保单")).wait_for()
    policy = Policy.objects.get()
    assert page.inner_text("[data-policy-number]") == policy.number
    assert "620602********" + SELF_ID[-4:] in page.content() and SELF_ID not in page.content()
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="打印").is_visible()  # the print shows the policy only
    page.emulate_media(media="screen")
    page.get_by_role("link", name="返回柜面").click()
    assert page.inner_text("[data-figure=cash]") == "69.00 元"
    record = CounterEnrollment.objects.get()
    assert record.shift.service_point.name == "凉州区服务网点" and record.order.method == "counter_cash"
    desk.close()

    # Later, the resident (or a relative's phone) signs in with the number given at the counter.
    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                        locale="zh-CN", base_url=live_server.url)
    phone = phone_context.new_page()
    phone.goto("/account/login/?next=/policies/")
    phone.get_by_label("手机号").fill(PHONE)
    phone.get_by_role("button", name="获取验证码").click()
    phone.get_by_text("验证码已发送至 138****5678").wait_for()
    code = re.search(r"(\d{6})", SmsMessage.objects.to(PHONE).filter(body__contains="验证码").get().body).group(1)
    phone.get_by_label("验证码").fill(code)
    phone.get_by_role("button", name="登录").click()
    phone.get_by_role("heading", name="实名认证").wait_for()
    phone.get_by_label("姓名").fill("张桂兰")
    phone.get_by_label("身份证号").fill(SELF_ID)
    phone.get_by_role("button", name="提交认证").click()
    phone.get_by_role("heading", name="我的保单").wait_for()
    phone.get_by_text(f"保单号 {policy.number}").wait_for()
    phone_context.close()
