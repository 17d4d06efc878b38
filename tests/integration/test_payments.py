"""Paying an order through the provider: signed notifications applied once, expiry, refunds."""

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from enrollment import billing, payments, services
from enrollment.models import Order, Payment, PaymentNotification, Policy
from enrollment.selectors import PersonInput
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from portal.simulators import payment as provider
from portal.simulators.models import RosterEntry, SimPayment
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    WEIHAI_FRIEND_ID,
    WEIHAI_ID,
    WEIHAI_SPOUSE_ID,
    make_resident,
    pending_order,
    roster,
)

pytestmark = pytest.mark.django_db
WUWEI_WINDOW = "2025-06-15 10:00 +08:00"
WEIHAI_WINDOW = "2024-10-15 10:00 +08:00"
NOTIFY = "/pay/notify/simulator/"


@pytest.fixture
def wuwei(products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    return make_resident()


@pytest.fixture
def window():
    with time_machine.travel(WUWEI_WINDOW, tick=True):
        yield


@pytest.fixture
def order(wuwei, window):
    return pending_order(wuwei, ("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent"))


def paid_on_provider(order, method="online"):
    payment = billing.payment_start(order=order, method=method)
    trade = SimPayment.objects.get(out_trade_no=payment.out_trade_no)
    provider.pay(transaction_id=trade.transaction_id)
    trade.refresh_from_db()
    return payment, trade


def post_notification(client, trade, headers=None, body=None):
    signed_headers, signed_body = provider.notification(trade)
    headers = headers or signed_headers
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.startswith("X-")}
    return client.post(NOTIFY, data=body or signed_body, content_type="application/json", **extra)


def test_a_signed_notification_pays_the_order_and_activates_every_policy(client, order, django_capture_on_commit_callbacks):
    _, trade = paid_on_provider(order)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_notification(client, trade)
    assert response.status_code == 200 and response.json() == {"code": "SUCCESS"}
    order.refresh_from_db()
    assert order.status == Order.PAID and order.paid_at is not None
    assert set(order.policies.values_list("status", flat=True)) == {Policy.ACTIVE}
    assert Payment.objects.get(order=order).transaction_id == trade.transaction_id
    assert SmsMessage.objects.filter(template_id=template_id("policy_issued")).count() == 2
    assert PaymentNotification.objects.get().outcome == "applied"


def test_a_replayed_notification_changes_nothing(client, order):
    _, trade = paid_on_provider(order)
    assert post_notification(client, trade).status_code == 200
    activated = list(order.policies.values_list("activated_at", flat=True))
    response = post_notification(client, trade)
    assert response.status_code == 200
    assert list(order.policies.values_list("activated_at", flat=True)) == activated
    assert list(PaymentNotification.objects.order_by("id").values_list("outcome", flat=True)) == ["applied", "replay"]


def test_a_forged_notification_is_refused_logged_and_changes_nothing(client, order):
    _, trade = paid_on_provider(order)
    headers, body = provider.notification(trade)
    headers["X-Pay-Signature"] = provider.sign("not-the-key", headers["X-Pay-Timestamp"], headers["X-Pay-Nonce"], body)
    response = post_notification(client, trade, headers=headers, body=body)
    assert response.status_code == 401
    order.refresh_from_db()
    assert order.status == Order.PENDING
    note = PaymentNotification.objects.get()
    assert (note.accepted, note.outcome) == (False, "bad_signature")


def test_a_tampered_amount_breaks_the_signature(client, order):
    _, trade = paid_on_provider(order)
    headers, body = provider.notification(trade)
    tampered = body.replace(b'"138.00"', b'"1.38"')
    assert post_notification(client, trade, headers=headers, body=tampered).status_code == 401
    assert Order.objects.get(pk=order.pk).status == Order.PENDING


def test_a_correctly_signed_notification_with_the_wrong_amount_is_refused(client, order):
    _, trade = paid_on_provider(order)
    resource = {**provider.trade_json(trade), "amount": "1.00"}
    body = json.dumps({"event_type": "TRANSACTION.SUCCESS", "resource": resource}).encode()
    response = post_notification(client, trade, headers=provider.signed_headers(body), body=body)
    assert response.status_code == 400
    assert PaymentNotification.objects.get().outcome == "amount_mismatch"
    assert Order.objects.get(pk=order.pk).status == Order.PENDING


def test_a_stale_notification_is_refused(client, order):
    _, trade = paid_on_provider(order)
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=False):
        headers, body = provider.notification(trade)
    with time_machine.travel("2025-06-15 10:10 +08:00", tick=False):
        response = post_notification(client, trade, headers=headers, body=body)
    assert response.status_code == 401 and PaymentNotification.objects.get().outcome == "stale"


def test_a_notification_for_an_unknown_order_is_refused(client, order):
    _, trade = paid_on_provider(order)
    resource = {**provider.trade_json(trade), "out_trade_no": "NOSUCH"}
    body = json.dumps({"event_type": "TRANSACTION.SUCCESS", "resource": resource}).encode()
    response = post_notification(client, trade, headers=provider.signed_headers(body), body=body)
    assert response.status_code == 400 and PaymentNotification.objects.get().outcome == "unknown_order"


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_deliveries_apply_once(products):
    roster(SELF_ID, "张桂兰")
    resident = make_resident()
    with time_machine.travel(WUWEI_WINDOW, tick=True):
        order = pending_order(resident)
        _, trade = paid_on_provider(order)
        headers, body = provider.notification(trade)

        def deliver(_):
            try:
                return billing.notification_handle(provider="simulator", headers=headers, body=body)[1]
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=20) as pool:
            outcomes = list(pool.map(deliver, range(20)))
    assert outcomes.count("applied") == 1 and outcomes.count("replay") == 19
    assert Payment.objects.filter(status=Payment.SUCCEEDED).count() == 1


def test_unpaid_orders_expire_after_30_minutes_and_release_the_people(wuwei):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        billing.payment_start(order=order, method="online")
    with time_machine.travel("2025-06-15 10:29 +08:00", tick=False):
        assert billing.orders_expire() == 0
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=False):
        assert billing.orders_expire() == 1
        order.refresh_from_db()
        assert order.status == Order.EXPIRED
        assert set(order.policies.values_list("status", flat=True)) == {Policy.EXPIRED}
        assert SimPayment.objects.get().state == SimPayment.CLOSED
        again = pending_order(wuwei)  # the person is free to buy again
    assert again.status == Order.PENDING


def test_expiry_applies_a_payment_that_arrived_without_notification(wuwei):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        paid_on_provider(order)
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=False):
        billing.orders_expire()
    assert Order.objects.get(pk=order.pk).status == Order.PAID


def test_reconciliation_finds_a_paid_order_whose_notification_was_lost(wuwei):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        paid_on_provider(order)
    with time_machine.travel("2025-06-15 10:03 +08:00", tick=False):
        assert billing.orders_reconcile() == 1
    assert Order.objects.get(pk=order.pk).status == Order.PAID


def test_money_arriving_after_expiry_is_refunded(client, wuwei):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        payment = billing.payment_start(order=order, method="online")
    trade = SimPayment.objects.get(out_trade_no=payment.out_trade_no)
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=False):
        Order.objects.filter(pk=order.pk).update(status=Order.EXPIRED)
        SimPayment.objects.filter(pk=trade.pk).update(state=SimPayment.SUCCESS)
        trade.refresh_from_db()
        headers, body = provider.notification(trade)
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            status, outcome = billing.notification_handle(provider="simulator", headers=headers, body=body)
    assert (status, outcome) == (200, "refunded_late")
    assert SimPayment.objects.get(pk=trade.pk).refunds.get().amount == Decimal("69.00")


def test_cancelling_before_cover_starts_refunds_and_frees_the_person(client, order):
    _, trade = paid_on_provider(order)
    post_notification(client, trade)
    mother = order.policies.get(relation="parent")
    billing.policy_cancel(policy=mother, resident=order.resident)
    mother.refresh_from_db()
    assert mother.status == Policy.CANCELLED
    assert SimPayment.objects.get(pk=trade.pk).refunds.get().amount == Decimal("69.00")
    assert Order.objects.get(pk=order.pk).status == Order.PAID  # the other policy stands
    again = services.order_create(resident=order.resident, plan=mother.plan,
                                  people=[PersonInput("李秀英", MOTHER_ID, "parent")], accepted={"terms", "privacy"})
    assert again.policies.get().status == Policy.PENDING


def test_cancelling_after_cover_started_is_refused_with_the_date(client, order):
    _, trade = paid_on_provider(order)
    post_notification(client, trade)
    policy = order.policies.first()
    with time_machine.travel("2025-07-02 10:00 +08:00"), pytest.raises(billing.PaymentRefused) as refused:
        billing.policy_cancel(policy=policy, resident=order.resident)
    assert "2025年7月1日" in refused.value.message
    assert Policy.objects.get(pk=policy.pk).status == Policy.ACTIVE


@pytest.fixture
def weihai(products):
    roster(WEIHAI_ID, "王建国", category="employee", balance="500.00")
    roster(WEIHAI_SPOUSE_ID, "刘芳")
    roster(WEIHAI_FRIEND_ID, "陈明")
    return make_resident(phone="13900000009", name="王建国", id_number=WEIHAI_ID)


def test_weihai_personal_account_pays_for_self_and_spouse(weihai):
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, ("王建国", WEIHAI_ID, "self"), ("刘芳", WEIHAI_SPOUSE_ID, "spouse"),
                              product="weihai-2025", plan="standard")
        payment, trade = paid_on_provider(order, method="personal_account")
        assert billing.order_refresh(order=order) == "applied"
    assert payment.provider == "medical_account"
    assert RosterEntry.objects.get(name="王建国").account_balance == Decimal("500.00") - order.amount


def test_personal_account_refuses_someone_who_is_not_a_close_relative(weihai):
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, ("陈明", WEIHAI_FRIEND_ID, "other"), product="weihai-2025", plan="standard")
        with pytest.raises(billing.PaymentRefused) as refused:
            billing.payment_start(order=order, method="personal_account")
    assert refused.value.code == "relation_not_allowed"
    assert not Payment.objects.exists()


def test_personal_account_is_weihai_only(order):
    with pytest.raises(billing.PaymentRefused) as refused:
        billing.payment_start(order=order, method="personal_account")
    assert refused.value.code == "method_not_offered"


def test_an_insufficient_personal_account_balance_is_refused_on_the_cashier(client, weihai):
    RosterEntry.objects.filter(name="王建国").update(account_balance=Decimal("10.00"))
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, product="weihai-2025", plan="standard")
        payment = billing.payment_start(order=order, method="personal_account")
    trade = SimPayment.objects.get(out_trade_no=payment.out_trade_no)
    response = client.post(reverse("simulators:cashier", args=[trade.transaction_id]), {"action": "pay"})
    assert response.status_code == 422 and "余额不足" in response.content.decode()
    assert SimPayment.objects.get(pk=trade.pk).state == SimPayment.NOTPAY


def test_the_notification_task_delivers_to_the_merchant(live_server, order):
    _, trade = paid_on_provider(order)
    SimPayment.objects.filter(pk=trade.pk).update(notify_url=live_server.url + NOTIFY)
    assert provider.deliver(trade.pk) == "HTTP 200"
    assert Order.objects.get(pk=order.pk).status == Order.PAID
    assert SimPayment.objects.get(pk=trade.pk).notify_attempts == 1


def test_the_http_adapter_speaks_to_the_provider_api(live_server, order):
    with override_settings(PAYMENT_BACKEND="http", PAYMENT_API_URL=live_server.url + "/sim/pay/api"):
        payment = billing.payment_start(order=order, method="online")
        assert payment.pay_url.startswith(live_server.url + "/sim/pay/")
        state = payments.provider().query(payment.out_trade_no)
        assert state.state == "NOTPAY" and state.amount == Decimal("138.00")
        trade = SimPayment.objects.get(out_trade_no=payment.out_trade_no)
        provider.pay(transaction_id=trade.transaction_id)
        assert billing.order_refresh(order=order) == "applied"
        refund_id = payments.provider().refund(out_trade_no=payment.out_trade_no, out_refund_no="R1",
                                               amount=Decimal("69.00"))
        assert refund_id.startswith("5030")


def test_the_provider_api_refuses_an_unsigned_request(client):
    response = client.post("/sim/pay/api/v1/query/", data=b'{"out_trade_no": "X"}', content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "SIGN_ERROR"


def test_a_notification_for_a_transaction_the_provider_does_not_have_is_dropped(db):
    from portal.simulators.tasks import send_payment_notification

    assert send_payment_notification.run(987654321) == "missing"
