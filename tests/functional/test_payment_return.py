"""Back from the cashier: every outcome reached within seconds, each with its next step (issue 17)."""

import time

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from enrollment import billing
from enrollment.models import Order, Payment
from tests.factories import SELF_ID, login_as, make_resident, pay_on_provider, pending_order, roster

pytestmark = pytest.mark.django_db
WINDOW = "2025-06-15 10:00 +08:00"


@pytest.fixture
def order(client, products):
    roster(SELF_ID, "张桂兰")
    resident = make_resident()
    login_as(client, resident.user)
    with time_machine.travel(WINDOW, tick=True):
        yield pending_order(resident)


def back(client, order, seconds_ago=0):
    url = reverse("enrollment:order_status" if seconds_ago else "enrollment:order_return", args=[order.number])
    query = {"since": str(int(time.time()) - seconds_ago)} if seconds_ago else {}
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("channel", ["wechatpay", "alipay"])
def test_paid_shows_success_at_once_even_without_the_notification(client, order, channel):
    pay_on_provider(billing.payment_start(order=order, method="online", channel=channel))
    page = back(client, order)
    assert "支付成功" in page and "查看我的保单" in page and "hx-get" not in page
    assert Order.objects.get(pk=order.pk).status == Order.PAID


@pytest.mark.parametrize("channel", ["wechatpay", "alipay"])
def test_cancelled_on_the_cashier_is_told_within_seconds_with_pay_again(client, order, channel):
    billing.payment_start(order=order, method="online", channel=channel)  # then 取消支付 on the cashier
    first = back(client, order)
    assert "正在确认支付结果" in first and "hx-get" in first and "since=" in first
    page = back(client, order, seconds_ago=7)
    assert "支付未完成" in page and "hx-get" not in page
    assert "微信支付 69.00 元" in page and "支付宝支付 69.00 元" in page  # pay again, either channel
    assert "刷新" in page and "返回订单" in page


def test_failed_for_balance_says_why_and_pays_again_on_a_new_attempt(client, order):
    pay_on_provider(billing.payment_start(order=order, method="online", channel="wechatpay"), action="insufficient")
    page = back(client, order)
    assert "支付失败" in page and "零钱余额不足" in page and "未扣款" in page
    assert Payment.objects.get().status == Payment.FAILED
    response = client.post(reverse("enrollment:order_pay", args=[order.number]),
                           {"method": "online", "channel": "wechatpay"})
    assert response.status_code == 302
    assert order.payments.get(status=Payment.CREATED).out_trade_no.endswith("P2")


def test_expired_offers_buying_again(client, order):
    billing.payment_start(order=order, method="online")
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=True):
        billing.orders_expire()
        page = back(client, order)
    assert "已超过支付时限" in page and "重新投保" in page and "hx-get" not in page


def test_still_pending_after_a_minute_offers_refresh_and_back_to_the_order(client, order):
    billing.payment_start(order=order, method="online")
    with override_settings(WECHATPAY_BASE_URL="http://127.0.0.1:9", PAYMENT_TIMEOUT_SECONDS=1):
        waiting = back(client, order, seconds_ago=30)
        late = back(client, order, seconds_ago=61)
    assert "正在确认支付结果" in waiting and "hx-get" in waiting
    assert "暂未收到支付结果" in late and "hx-get" not in late
    assert reverse("enrollment:order_return", args=[order.number]) in late  # 刷新
    assert reverse("enrollment:order_detail", args=[order.number]) in late  # 返回订单


def test_the_order_page_offers_paying_again_while_the_order_is_open(client, order):
    billing.payment_start(order=order, method="online")
    page = client.get(reverse("enrollment:order_detail", args=[order.number])).content.decode()
    assert "微信支付 69.00 元" in page and "支付宝支付 69.00 元" in page
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=True):
        billing.orders_expire()
        page = client.get(reverse("enrollment:order_detail", args=[order.number])).content.decode()
    assert "微信支付 69.00 元" not in page and "重新投保" in page
