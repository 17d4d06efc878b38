"""On a phone: cancelling on the cashier is told within seconds, and paying again with the other
channel succeeds (issue 17's payment return page, issue 14's choice of channel)."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment import services
from enrollment.models import Order, Payment, ProductVersion
from tests.factories import SELF_ID, make_resident, pending_order, roster

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order(products):
    today = timezone.localdate()
    version = services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-e2e-pay",
                                    year=today.year + 1)
    version.sales_start, version.sales_end = today - timedelta(days=1), today + timedelta(days=30)
    version.coverage_start, version.coverage_end = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    version.save()
    services.version_publish(version=version)
    roster(SELF_ID, "张桂兰")
    resident = make_resident()
    return resident, pending_order(resident, product="wuwei-e2e-pay")


def sign_in(phone, live_server, resident):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(resident.user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = resident.user.get_session_auth_hash()
    session.save()
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                                "url": live_server.url}])


def test_cancel_on_the_cashier_then_pay_again_with_alipay(phone, live_server, order):
    resident, order = order
    sign_in(phone, live_server, resident)
    phone.goto(f"/orders/{order.number}/")
    phone.get_by_role("button", name=re.compile("微信支付")).click()
    phone.get_by_role("heading", name="收银台").wait_for()
    phone.get_by_role("button", name="取消支付").click()

    phone.get_by_text("正在确认支付结果").wait_for()
    phone.get_by_text("支付未完成").wait_for(timeout=15000)  # within seconds, not forever
    assert phone.get_by_role("link", name="返回订单").is_visible()
    assert phone.get_by_role("link", name="刷新").is_visible()

    phone.get_by_role("button", name=re.compile("支付宝支付")).click()
    phone.get_by_role("heading", name="收银台").wait_for()
    assert phone.get_by_text("支付宝").first.is_visible()
    phone.get_by_role("button", name=re.compile("确认支付")).click()
    phone.get_by_text("支付成功，保单已出单", exact=False).wait_for(timeout=15000)
    order.refresh_from_db()
    assert order.status == Order.PAID
    assert list(order.payments.order_by("pk").values_list("provider", "status")) == [
        ("wechatpay", Payment.CLOSED), ("alipay", Payment.SUCCEEDED)]
