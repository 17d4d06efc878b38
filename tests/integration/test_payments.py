"""Paying an order through WeChat Pay or Alipay: the journeys (pay, notifications applied once,
expiry, reconciliation, refunds, the personal account) on both channels, over real HTTP to the
payment simulator."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from enrollment import billing, services
from enrollment.models import Order, Payment, PaymentNotification, Policy, Refund
from enrollment.selectors import PersonInput
from portal.integrations.payments.simulator import provider
from portal.integrations.payments.simulator.models import SimNotification, SimTrade
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from portal.simulators.models import RosterEntry
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    WEIHAI_FRIEND_ID,
    WEIHAI_ID,
    WEIHAI_SPOUSE_ID,
    login_as,
    make_resident,
    pay_on_provider,
    pending_order,
    roster,
)

pytestmark = pytest.mark.django_db
WUWEI_WINDOW = "2025-06-15 10:00 +08:00"
WEIHAI_WINDOW = "2024-10-15 10:00 +08:00"
CHANNELS = ["wechatpay", "alipay"]


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


def paid_on_provider(order, channel="wechatpay", method="online"):
    payment = billing.payment_start(order=order, method=method, channel=channel)
    trade = pay_on_provider(payment)
    return payment, trade


def owed(trade, kind="transaction"):
    """The notification the provider owes for ``trade`` (the newest of its kind)."""
    return SimNotification.objects.filter(channel=trade.channel, kind=kind).latest("pk")


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_providers_notification_pays_the_order_and_activates_every_policy(order, channel,
                                                                              django_capture_on_commit_callbacks):
    _, trade = paid_on_provider(order, channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.deliver(owed(trade).pk) == "taken"  # WeChat Pay: 204; Alipay: the body "success"
    order.refresh_from_db()
    assert order.status == Order.PAID and order.paid_at is not None
    assert set(order.policies.values_list("status", flat=True)) == {Policy.ACTIVE}
    payment = Payment.objects.get(order=order)
    assert (payment.provider, payment.transaction_id, payment.amount) == (channel, trade.transaction_id,
                                                                         Decimal("138.00"))
    texts = SmsMessage.objects.filter(template_id=template_id("policy_issued")).values_list("body", flat=True)
    # Paid before the cover starts: the text says issued (已出单), never already in force (已生效).
    assert len(texts) == 2 and all("已出单" in t and "已生效" not in t for t in texts)
    assert PaymentNotification.objects.get().outcome == "applied"


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_replayed_notification_is_answered_as_taken_and_changes_nothing(order, channel):
    _, trade = paid_on_provider(order, channel)
    note = owed(trade)
    assert provider.deliver(note.pk) == "taken"
    activated = list(order.policies.values_list("activated_at", flat=True))
    SimNotification.objects.filter(pk=note.pk).update(delivered_at=None)  # the provider sends it again
    assert provider.deliver(note.pk) == "taken"
    assert list(order.policies.values_list("activated_at", flat=True)) == activated
    assert list(PaymentNotification.objects.order_by("id").values_list("outcome", flat=True)) == ["applied", "replay"]


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_deliveries_apply_once(products):
    roster(SELF_ID, "张桂兰")
    resident = make_resident()
    with time_machine.travel(WUWEI_WINDOW, tick=True):
        order = pending_order(resident)
        _, trade = paid_on_provider(order)
        headers, body = provider.notification_request(owed(trade))

        def deliver(_):
            try:
                return billing.notification_handle(provider="wechatpay", headers=headers, body=body).outcome
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=20) as pool:
            outcomes = list(pool.map(deliver, range(20)))
    assert outcomes.count("applied") == 1 and outcomes.count("replay") == 19
    assert Payment.objects.filter(status=Payment.SUCCEEDED).count() == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_unpaid_orders_expire_after_30_minutes_close_the_trade_and_release_the_people(wuwei, channel):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        payment = billing.payment_start(order=order, method="online", channel=channel)
        if channel == "alipay":
            import requests

            requests.get(payment.pay_url, allow_redirects=False, timeout=10)  # the payer opened the cashier
    with time_machine.travel("2025-06-15 10:29 +08:00", tick=False):
        assert billing.orders_expire() == 0
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=False):
        assert billing.orders_expire() == 1
        order.refresh_from_db()
        assert order.status == Order.EXPIRED
        assert set(order.policies.values_list("status", flat=True)) == {Policy.EXPIRED}
        assert SimTrade.objects.get().state == SimTrade.CLOSED
        assert Payment.objects.get().status == Payment.CLOSED
        again = pending_order(wuwei)  # the person is free to buy again
    assert again.status == Order.PENDING


@pytest.mark.parametrize("channel", CHANNELS)
def test_expiry_applies_a_payment_that_arrived_without_notification(wuwei, channel):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        paid_on_provider(order, channel)
    with time_machine.travel("2025-06-15 10:31 +08:00", tick=False):
        billing.orders_expire()
    assert Order.objects.get(pk=order.pk).status == Order.PAID


@pytest.mark.parametrize("channel", CHANNELS)
def test_reconciliation_finds_a_paid_order_whose_notification_was_lost(wuwei, channel):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        order = pending_order(wuwei)
        paid_on_provider(order, channel)
    with time_machine.travel("2025-06-15 10:03 +08:00", tick=False):
        assert billing.orders_reconcile() == 1
    assert Order.objects.get(pk=order.pk).status == Order.PAID


@pytest.mark.parametrize("channel", CHANNELS)
def test_money_arriving_after_expiry_is_refunded_and_the_attempt_recorded_as_refunded(wuwei, channel,
                                                                                     django_capture_on_commit_callbacks):
    with time_machine.travel(WUWEI_WINDOW, tick=True):
        order = pending_order(wuwei)
        payment, trade = paid_on_provider(order, channel)
        Order.objects.filter(pk=order.pk).update(status=Order.EXPIRED)  # expired before the money was seen
        with django_capture_on_commit_callbacks(execute=True):
            assert provider.deliver(owed(trade).pk) == "taken"
    assert PaymentNotification.objects.get().outcome == "refunded_late"
    payment.refresh_from_db()
    assert payment.status == Payment.REFUNDED
    assert SimTrade.objects.get(pk=trade.pk).refunds.get().amount == 6900


def test_a_second_paid_attempt_is_refunded_and_recorded_as_refunded(order, django_capture_on_commit_callbacks):
    first, first_trade = paid_on_provider(order, "wechatpay")
    # The payer had also paid with Alipay before WeChat Pay's result arrived.
    Payment.objects.filter(pk=first.pk).update(status=Payment.CLOSED)
    second, second_trade = paid_on_provider(order, "alipay")
    Payment.objects.filter(pk=second.pk).update(status=Payment.CLOSED)
    Payment.objects.filter(pk=first.pk).update(status=Payment.CREATED)
    with django_capture_on_commit_callbacks(execute=True):
        provider.deliver(owed(first_trade).pk)
        provider.deliver(owed(second_trade).pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Payment.SUCCEEDED, Payment.REFUNDED)
    assert Order.objects.get(pk=order.pk).status == Order.PAID
    assert Refund.objects.get().payment == second


@pytest.mark.parametrize("channel", CHANNELS)
def test_cancelling_before_cover_starts_refunds_and_frees_the_person(order, channel):
    payment, trade = paid_on_provider(order, channel)
    provider.deliver(owed(trade).pk)
    mother = order.policies.get(relation="parent")
    billing.policy_cancel(policy=mother, resident=order.resident)
    mother.refresh_from_db()
    assert mother.status == Policy.CANCELLED
    assert SimTrade.objects.get(pk=trade.pk).refunds.get().amount == 6900
    refund = Refund.objects.get()
    # Alipay refunds at once; WeChat Pay accepts (PROCESSING) and tells the refund URL when done.
    assert refund.status == (Refund.SUCCEEDED if channel == "alipay" else Refund.PROCESSING)
    assert Payment.objects.get(pk=payment.pk).status == Payment.SUCCEEDED  # half of it is still a premium
    assert Order.objects.get(pk=order.pk).status == Order.PAID  # the other policy stands
    again = services.order_create(resident=order.resident, plan=mother.plan,
                                  people=[PersonInput("李秀英", MOTHER_ID, "parent")], accepted={"terms", "privacy"})
    assert again.policies.get().status == Policy.PENDING


def test_wechat_pays_notification_of_a_finished_refund_records_it(order):
    _, trade = paid_on_provider(order, "wechatpay")
    provider.deliver(owed(trade).pk)
    billing.policy_cancel(policy=order.policies.get(relation="parent"), resident=order.resident)
    refund = Refund.objects.get()
    provider.refund_complete(trade.refunds.get().pk)
    assert provider.deliver(owed(trade, "refund").pk) == "taken"
    refund.refresh_from_db()
    assert refund.status == Refund.SUCCEEDED and refund.refund_id and refund.completed_at is not None


def test_cancelling_the_whole_order_records_the_attempt_as_refunded(wuwei, window):
    order = pending_order(wuwei)
    payment, trade = paid_on_provider(order, "alipay")
    provider.deliver(owed(trade).pk)
    billing.policy_cancel(policy=order.policies.get(), resident=wuwei)
    assert Payment.objects.get(pk=payment.pk).status == Payment.REFUNDED
    assert Order.objects.get(pk=order.pk).status == Order.REFUNDED


def test_cancelling_after_cover_started_is_refused_with_the_date(order):
    _, trade = paid_on_provider(order)
    provider.deliver(owed(trade).pk)
    policy = order.policies.first()
    with time_machine.travel("2025-07-02 10:00 +08:00"), pytest.raises(billing.PaymentRefused) as refused:
        billing.policy_cancel(policy=policy, resident=order.resident)
    assert "2025年7月1日" in refused.value.message
    assert Policy.objects.get(pk=policy.pk).status == Policy.ACTIVE


def test_switching_channel_closes_the_other_attempt_first(order):
    wechat = billing.payment_start(order=order, method="online", channel="wechatpay")
    alipay = billing.payment_start(order=order, method="online", channel="alipay")
    wechat.refresh_from_db()
    assert wechat.status == Payment.CLOSED and alipay.status == Payment.CREATED
    assert SimTrade.objects.get(channel="wechatpay").state == SimTrade.CLOSED
    assert alipay.out_trade_no.endswith("P2")


def test_a_payment_taken_on_the_other_channel_meanwhile_is_applied_not_reopened(order):
    wechat = billing.payment_start(order=order, method="online", channel="wechatpay")
    pay_on_provider(wechat)
    with pytest.raises(billing.PaymentRefused) as refused:
        billing.payment_start(order=order, method="online", channel="alipay")
    assert refused.value.code == "order_not_pending"
    assert Order.objects.get(pk=order.pk).status == Order.PAID
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_days_bill_applies_a_payment_the_portal_missed_and_records_refunds(wuwei, channel):
    with time_machine.travel(WUWEI_WINDOW, tick=False):
        lost = pending_order(wuwei)
        paid_on_provider(lost, channel)  # neither notified nor queried
    mother = make_resident(phone="13800000002", name="李秀英", id_number=MOTHER_ID)
    with time_machine.travel("2025-06-15 11:00 +08:00", tick=False):
        kept = pending_order(mother)
        payment, trade = paid_on_provider(kept, channel)
        provider.deliver(owed(trade).pk)
        billing.policy_cancel(policy=kept.policies.get(), resident=mother)
        if channel == "wechatpay":
            provider.refund_complete(trade.refunds.get().pk)  # done, but its notification was lost
    with time_machine.travel("2025-06-16 10:00 +08:00", tick=False):
        report = billing.bill_reconcile(channel=channel, day=date(2025, 6, 15))
    assert report.applied == [lost.payments.get().out_trade_no]
    assert Order.objects.get(pk=lost.pk).status == Order.PAID
    assert Refund.objects.get().status == Refund.SUCCEEDED
    assert report.discrepancies == []


# --- one open attempt at a time (issue 18) ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_orders_times_ten_simultaneous_clicks_give_no_error_and_one_open_attempt_each(products):
    from django.test import Client

    from tests.factories import make_id

    names = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八", "冯九", "陈十"]
    residents = []
    with time_machine.travel(WUWEI_WINDOW, tick=True):
        for n, name in enumerate(names):
            id_number = make_id(f"6206021975052{n:04d}")
            roster(id_number, name)
            resident = make_resident(phone=f"1380000{n:04d}", name=name, id_number=id_number)
            residents.append((resident, pending_order(resident)))

        def click(job):
            resident, order = job
            try:
                client = Client()
                login_as(client, resident.user)
                response = client.post(reverse("enrollment:order_pay", args=[order.number]),
                                       {"method": "online", "channel": "wechatpay"})
                return response.status_code, response.get("Location", "")
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(click, [job for job in residents for _ in range(10)]))
    assert {status for status, _ in answers} == {302}, answers
    for _, order in residents:
        assert order.payments.filter(status=Payment.CREATED).count() == 1
        assert order.payments.count() == 1
        assert SimTrade.objects.filter(out_trade_no=order.payments.get().out_trade_no).count() == 1


def test_reconciliation_reads_only_what_can_still_change(wuwei):
    """Old pending orders with no open attempt (and paid or closed history) are never read: the
    cost of a run is set by the open attempts alone."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with time_machine.travel(WUWEI_WINDOW, tick=False):
        open_order = pending_order(wuwei)
        billing.payment_start(order=open_order, method="online")

    def queries_of_a_run():
        with time_machine.travel("2025-06-15 10:03 +08:00", tick=False), CaptureQueriesContext(conn) as captured:
            billing.orders_reconcile()
        return len(captured)

    before = queries_of_a_run()
    from tests.factories import make_id, sold_policy

    for n in range(50):  # history: paid orders and their closed attempts
        policy = sold_policy("wuwei-2025", f"旧{n}", make_id(f"62060219600101{n:03d}"), number=f"H{n:05d}")
        Payment.objects.create(order=policy.order, provider="wechatpay", method="online",
                               out_trade_no=f"H{n:05d}P1", amount=Decimal("69.00"), status=Payment.CLOSED)
        Order.objects.filter(pk=policy.order_id).update(status=Order.PENDING)
    assert queries_of_a_run() == before


# --- the Weihai 医保个人账户 on the 医疗保障信息平台 (portal/integrations/hsa/account.py) -------------


@pytest.fixture
def weihai(products):
    roster(WEIHAI_ID, "王建国", category="employee", balance="500.00", family=[WEIHAI_SPOUSE_ID])
    roster(WEIHAI_SPOUSE_ID, "刘芳")
    roster(WEIHAI_FRIEND_ID, "陈明")
    return make_resident(phone="13900000009", name="王建国", id_number=WEIHAI_ID)


def _account_pay(order, **kwargs):
    return billing.payment_start(order=order, method="personal_account", consent=True, **kwargs)


def _balance(name="王建国"):
    return RosterEntry.objects.get(name=name).account_balance


def test_weihai_personal_account_pays_for_self_and_the_bound_spouse(weihai):
    from portal.simulators.models import AccountTrade

    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, ("王建国", WEIHAI_ID, "self"), ("刘芳", WEIHAI_SPOUSE_ID, "spouse"),
                              product="weihai-2025", plan="standard")
        payment = _account_pay(order)
        assert billing.order_refresh(order=order) == "applied"
    order.refresh_from_db()
    assert order.status == Order.PAID and payment.provider == "medical_account"
    assert _balance() == Decimal("500.00") - order.amount
    trade = AccountTrade.objects.get(out_trade_no=payment.out_trade_no)
    assert Payment.objects.get(pk=payment.pk).transaction_id == trade.trade_no and trade.amount == order.amount


def test_the_consent_is_recorded_with_each_payment_and_sent_to_the_platform(weihai):
    from enrollment.models import Consent, ConsentText
    from portal.simulators.models import AccountTrade

    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, product="weihai-2025", plan="standard")
        with pytest.raises(billing.PaymentRefused) as refused:
            billing.payment_start(order=order, method="personal_account")
        assert refused.value.code == "consent_required" and not Payment.objects.exists()
        payment = _account_pay(order, client_ip="10.0.0.8")
    consent = Payment.objects.get(pk=payment.pk).consent
    assert consent.text.kind == ConsentText.PERSONAL_ACCOUNT and consent.text.title == "医保个人账户支付授权"
    assert (consent.person, consent.given_by, consent.ip_address) == (weihai.person, weihai, "10.0.0.8")
    assert Consent.objects.filter(text__kind=ConsentText.PERSONAL_ACCOUNT).count() == 1
    assert AccountTrade.objects.get().auth_text == f"personal_account:{consent.text.version}"


def test_a_resident_category_payer_has_no_personal_account(weihai):
    RosterEntry.objects.filter(name="王建国").update(category="resident")
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, product="weihai-2025", plan="standard")
        with pytest.raises(billing.PaymentRefused) as refused:
            _account_pay(order)
    assert refused.value.code == "payer_not_employee" and "城乡居民" in refused.value.message
    assert not Payment.objects.exists() and _balance() == Decimal("500.00")


def test_a_relative_outside_the_family_binding_is_refused_even_if_declared_a_spouse(weihai):
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, ("王建国", WEIHAI_ID, "self"), ("陈明", WEIHAI_FRIEND_ID, "spouse"),
                              product="weihai-2025", plan="standard")
        with pytest.raises(billing.PaymentRefused) as refused:
            _account_pay(order)
    assert refused.value.code == "not_family_bound" and "陈明" in refused.value.message
    assert not Payment.objects.exists() and _balance() == Decimal("500.00")


def test_a_relative_named_by_the_binding_may_be_paid_for_whatever_the_declared_relation(weihai):
    RosterEntry.objects.filter(name="王建国").update(
        family_hashes=[RosterEntry.objects.get(name="陈明").id_hash])
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, ("陈明", WEIHAI_FRIEND_ID, "other"), product="weihai-2025", plan="standard")
        _account_pay(order)
        assert billing.order_refresh(order=order) == "applied"


def test_personal_account_is_weihai_only(order):
    with pytest.raises(billing.PaymentRefused) as refused:
        billing.payment_start(order=order, method="personal_account", consent=True)
    assert refused.value.code == "method_not_offered"


def test_an_insufficient_balance_is_refused_by_the_payment_and_changes_nothing(weihai):
    from portal.simulators.models import AccountTrade

    RosterEntry.objects.filter(name="王建国").update(account_balance=Decimal("10.00"))
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, product="weihai-2025", plan="standard")
        with pytest.raises(billing.PaymentRefused) as refused:
            _account_pay(order)
    assert refused.value.code == "balance_insufficient" and "余额不足" in refused.value.message
    assert _balance() == Decimal("10.00") and not AccountTrade.objects.exists()
    assert not Payment.objects.exists() and Order.objects.get(pk=order.pk).status == Order.PENDING
    from enrollment.models import Consent

    assert not Consent.objects.filter(text__kind="personal_account").exists()


def test_the_payment_page_asks_for_the_consent_and_shows_a_refusal(client, weihai):
    RosterEntry.objects.filter(name="王建国").update(account_balance=Decimal("10.00"))
    client.force_login(weihai.user)
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, product="weihai-2025", plan="standard")
        page = client.get(reverse("enrollment:order_detail", args=[order.number])).content.decode()
        assert 'name="personal_account_consent"' in page and "医保个人账户支付授权" in page
        url = reverse("enrollment:order_pay", args=[order.number])
        unconsented = client.post(url, {"method": "personal_account"})
        assert unconsented.status_code == 422 and "医保个人账户支付授权" in unconsented.content.decode()
        short = client.post(url, {"method": "personal_account", "personal_account_consent": "1"})
        assert short.status_code == 422 and "余额不足" in short.content.decode()
    assert not Payment.objects.exists() and _balance() == Decimal("10.00")


def test_a_refund_goes_back_to_the_personal_account_once(weihai):
    with time_machine.travel(WEIHAI_WINDOW, tick=True):
        order = pending_order(weihai, product="weihai-2025", plan="standard")
        payment = _account_pay(order)
        billing.order_refresh(order=order)
        payment.refresh_from_db()
        refund = billing._refund_payment(payment, reason="测试退费")
        assert refund.status == Refund.SUCCEEDED
        billing._refund_submit(refund)  # asked again (a retry): credited once
    assert _balance() == Decimal("500.00")
    assert billing.adapter("medical_account").query(payment.out_trade_no).state == "REFUND"


def test_a_lost_answer_is_repaired_by_asking_again_without_a_second_debit(weihai, monkeypatch):
    """The platform debited but its answer was lost: the same out_trade_no asked again answers the
    trade already made. (Asked through the adapter directly: in the suite the simulator shares the
    test's database connection, so inside billing's transaction its debit would roll back too.)"""
    from portal.integrations import payments
    from portal.integrations.hsa import envelope
    from portal.integrations.hsa.account import PersonalAccount
    from portal.simulators.models import AccountTrade

    real, lost = envelope.call, []

    def answer_lost(infno, input, **fields):
        result = real(infno, input, **fields)
        if infno == "C201" and not lost:
            lost.append(result)
            raise envelope.Unavailable("TimeoutError")
        return result

    monkeypatch.setattr(envelope, "call", answer_lost)
    account = PersonalAccount()
    arguments = {"out_trade_no": "W1P1", "amount": Decimal("109.00"), "description": "威海", "notify_url": "",
                 "return_url": "https://portal.example/orders/W1/return/", "client_ip": "", "expires_at": None,
                 "payer_id_number": WEIHAI_ID, "payer_name": "王建国", "auth_text": "personal_account:2025.1"}
    from django.utils import timezone

    arguments["auth_time"] = timezone.now()
    with pytest.raises(payments.ProviderError) as unavailable:
        account.create(**arguments)
    assert unavailable.value.code == "UNAVAILABLE" and _balance() == Decimal("391.00")
    assert account.create(**arguments).pay_url == arguments["return_url"]
    assert _balance() == Decimal("391.00") and AccountTrade.objects.count() == 1
    with pytest.raises(payments.ProviderError) as reused:
        account.create(**{**arguments, "amount": Decimal("1.00")})
    assert reused.value.code == "REFUSED"
    assert account.query("W1P1").state == "SUCCESS" and account.query("W1P2").state == "NOTFOUND"
