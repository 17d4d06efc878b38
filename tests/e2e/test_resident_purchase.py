"""A resident on a phone signs in, buys for self and a parent, pays on the simulator, downloads the e-policy."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment import services
from enrollment.models import Order, Policy, ProductVersion
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import MOTHER_ID, SELF_ID, roster

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "13812345678"


@pytest.fixture
def on_sale(products):
    """wuwei-2025's terms, on sale today."""
    today = timezone.localdate()
    version = services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-e2e",
                                    year=today.year + 1)
    version.sales_start, version.sales_end = today - timedelta(days=1), today + timedelta(days=30)
    version.coverage_start, version.coverage_end = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    version.save()
    services.version_publish(version=version)
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    return version


def test_resident_buys_for_self_and_a_parent_and_downloads_the_e_policy(phone, on_sale):
    phone.goto("/account/login/?next=/buy/wuwei-e2e/basic/")
    phone.get_by_label("手机号").fill(PHONE)
    phone.get_by_role("button", name="获取验证码").click()
    phone.get_by_text("验证码已发送至 138****5678").wait_for()
    code = re.search(r"(\d{6})", SmsMessage.objects.to(PHONE).get().body).group(1)
    phone.get_by_label("验证码").fill(code)
    phone.get_by_role("button", name="登录").click()

    phone.get_by_role("heading", name="实名认证").wait_for()
    phone.get_by_label("姓名").fill("张桂兰")
    phone.get_by_label("身份证号").fill(SELF_ID)
    phone.get_by_role("button", name="提交认证").click()

    phone.get_by_text("② 填写被保险人").wait_for()
    phone.get_by_role("button", name=re.compile("添加家庭成员")).click()
    row = phone.locator("#person-1")
    row.wait_for()
    row.get_by_label("姓名").fill("李秀英")
    row.get_by_label("身份证号").fill(MOTHER_ID)
    row.get_by_label("与您的关系").select_option("parent")
    row.get_by_text(re.compile("✓ .*保费 69.00 元")).wait_for()  # checked live as it was typed
    phone.get_by_label(re.compile("保险条款与投保须知")).check()
    phone.get_by_label(re.compile("个人信息处理授权")).check()
    phone.get_by_role("button", name="提交订单").click()

    phone.get_by_text("合计 138.00 元").wait_for()
    assert MOTHER_ID not in phone.content()
    phone.get_by_role("button", name=re.compile("微信支付")).click()
    phone.get_by_role("heading", name="收银台").wait_for()
    phone.get_by_role("button", name=re.compile("确认支付")).click()

    phone.get_by_text("支付成功，保单已出单", exact=False).wait_for(timeout=15000)
    assert Order.objects.get().status == Order.PAID
    phone.get_by_role("link", name="查看我的保单").click()
    phone.get_by_role("heading", name="李秀英（父母）").wait_for()
    phone.locator("section.policy", has_text="李秀英").get_by_role("link", name="电子保单").click()
    phone.get_by_text("620602********" + MOTHER_ID[-4:]).wait_for()
    with phone.expect_download() as download:
        phone.get_by_role("link", name=re.compile("下载电子保单")).click()
    path = download.value.path()
    content = open(path, "rb").read()
    assert content.startswith(b"%PDF")
    policy = Policy.objects.get(person__name="李秀英")
    assert download.value.suggested_filename == f"{policy.number}.pdf"
