"""Contract tests of the payment adapters against the simulator over real HTTP on loopback: the
signatures both ways, and each fault with the exact behaviour the portal must show."""

import base64
import json
import socket
import threading
import time
from decimal import Decimal

import pytest
import requests
import time_machine
from django.test import override_settings

from enrollment import billing
from enrollment.models import Order, Payment, PaymentNotification
from portal.integrations import payments
from portal.integrations.payments.simulator import keys, provider
from portal.integrations.payments.simulator.models import SimNotification, SimTrade
from tests.factories import SELF_ID, make_resident, pay_on_provider, pending_order, roster

pytestmark = pytest.mark.django_db
WINDOW = "2025-06-15 10:00 +08:00"


@pytest.fixture
def order(products):
    roster(SELF_ID, "张桂兰")
    with time_machine.travel(WINDOW, tick=True):
        yield pending_order(make_resident())


def notify_url(channel):
    from django.conf import settings

    return f"{settings.PUBLIC_BASE_URL}/pay/notify/{channel}/"


def wechat_body(order, *, total=6900, key=None, event="TRANSACTION.SUCCESS", trade_state="SUCCESS"):
    """A WeChat Pay notification body for the order's open attempt, encrypted under ``key``."""
    payment = order.payments.get()
    resource = {"appid": "wxd678efh567hg6787", "mchid": "1900000109", "out_trade_no": payment.out_trade_no,
                "transaction_id": "4200000000000000000000000001", "trade_type": "MWEB", "trade_state": trade_state,
                "trade_state_desc": "支付成功", "success_time": "2025-06-15T10:01:00+08:00",
                "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}}
    encrypted = provider.wechat_encrypt(resource, "transaction", "transaction")
    if key is not None:  # the same resource under another APIv3 key: it will not decrypt
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        encrypted["ciphertext"] = base64.b64encode(AESGCM(key.encode()).encrypt(
            encrypted["nonce"].encode(), json.dumps(resource).encode(), b"transaction")).decode()
    body = {"id": "EV-1", "create_time": "2025-06-15T10:01:00+08:00", "resource_type": "encrypt-resource",
            "event_type": event, "summary": "支付成功", "resource": encrypted}
    return json.dumps(body, ensure_ascii=False)


def post(channel, body, headers):
    return requests.post(notify_url(channel), data=body.encode(), headers=headers, timeout=10)


# --- WeChat Pay: signatures both ways ------------------------------------------------------------


def test_the_merchant_signs_and_the_provider_verifies_then_the_provider_signs_and_the_merchant_verifies(order):
    with time_machine.travel(WINDOW, tick=True):
        payment = billing.payment_start(order=order, method="online", channel="wechatpay")
    # The simulator accepted the SDK's Authorization (else 401 SIGN_ERROR) and the SDK accepted the
    # simulator's Wechatpay-Signature on the answer (else it raises): the order exists on both sides.
    assert payment.pay_url.startswith(payments.conf.wechatpay().base_url.rsplit("/wechatpay", 1)[0])
    assert "redirect_url=" in payment.pay_url
    trade = SimTrade.objects.get(out_trade_no=payment.out_trade_no)
    assert trade.total == 6900 and trade.trade_type == "MWEB"


def test_a_request_signed_with_another_merchant_key_is_refused_with_sign_error(order):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with override_settings(WECHATPAY_PRIVATE_KEY=other), time_machine.travel(WINDOW, tick=True):
        with pytest.raises(payments.ProviderError) as refused:
            payments.channel("wechatpay").query("NOSUCH")
    assert refused.value.code == "SIGN_ERROR" and not refused.value.retryable


def test_an_answer_whose_signature_does_not_verify_is_not_believed(order):
    """The merchant holds a different platform key: every answer is refused, nothing is written."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with override_settings(WECHATPAY_PUBLIC_KEY=other), time_machine.travel(WINDOW, tick=True):
        with pytest.raises(billing.PaymentRefused) as refused:
            billing.payment_start(order=order, method="online", channel="wechatpay")
    assert refused.value.code == "provider_unavailable"
    assert not Payment.objects.exists() and Order.objects.get(pk=order.pk).payment_attempts == 0


# --- WeChat Pay: notifications ------------------------------------------------------------------


@pytest.fixture
def open_wechat(order):
    with time_machine.travel(WINDOW, tick=True):
        billing.payment_start(order=order, method="online", channel="wechatpay")
    return order


def test_a_signed_notification_is_taken_with_204_and_no_body(open_wechat):
    body = wechat_body(open_wechat)
    response = post("wechatpay", body, {"Content-Type": "application/json", **provider.wechat_signed_headers(body)})
    assert (response.status_code, response.content) == (204, b"")
    assert Order.objects.get(pk=open_wechat.pk).status == Order.PAID


def test_a_tampered_notification_is_refused_401_fail_so_wechat_pay_retries(open_wechat):
    body = wechat_body(open_wechat)
    headers = provider.wechat_signed_headers(body)
    tampered = body.replace('"event_type": "TRANSACTION.SUCCESS"', '"event_type": "TRANSACTION.SUCCESS" ')
    response = post("wechatpay", tampered, {"Content-Type": "application/json", **headers})
    assert response.status_code == 401 and response.json() == {"code": "FAIL", "message": "失败"}
    assert PaymentNotification.objects.get().outcome == "bad_signature"
    assert Order.objects.get(pk=open_wechat.pk).status == Order.PENDING


def test_a_wrong_serial_is_refused_before_anything_else(open_wechat):
    body = wechat_body(open_wechat)
    headers = {**provider.wechat_signed_headers(body), "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000"}
    response = post("wechatpay", body, {"Content-Type": "application/json", **headers})
    assert response.status_code == 401 and response.json()["code"] == "FAIL"
    assert PaymentNotification.objects.get().outcome == "wrong_serial"


def test_a_replayed_notification_older_than_five_minutes_is_refused(open_wechat):
    body = wechat_body(open_wechat)
    headers = provider.wechat_signed_headers(body, timestamp=int(time.time()) - 301)
    response = post("wechatpay", body, {"Content-Type": "application/json", **headers})
    assert response.status_code == 401
    assert PaymentNotification.objects.get().outcome == "stale"
    assert Order.objects.get(pk=open_wechat.pk).status == Order.PENDING


def test_a_resource_that_does_not_decrypt_is_answered_fail_and_changes_nothing(open_wechat):
    body = wechat_body(open_wechat, key="another-apiv3-key-of-32-bytes-xx")
    response = post("wechatpay", body, {"Content-Type": "application/json", **provider.wechat_signed_headers(body)})
    assert response.status_code == 400 and response.json()["code"] == "FAIL"
    assert PaymentNotification.objects.get().outcome == "undecryptable"
    assert Order.objects.get(pk=open_wechat.pk).status == Order.PENDING


@pytest.mark.parametrize(("total", "outcome"), [(138, "amount_mismatch"), ("69.00", "amount_invalid"),
                                                (69.0, "amount_invalid")])
def test_an_amount_in_the_wrong_unit_is_refused(open_wechat, total, outcome):
    """138 read as yuan would be 1.38 yuan in fen; a yuan string or a float is not fen at all."""
    body = wechat_body(open_wechat, total=total)
    response = post("wechatpay", body, {"Content-Type": "application/json", **provider.wechat_signed_headers(body)})
    assert response.status_code == 400
    assert PaymentNotification.objects.get().outcome == outcome
    assert Order.objects.get(pk=open_wechat.pk).status == Order.PENDING


def test_the_simulator_refuses_an_amount_not_in_fen(order):
    with time_machine.travel(WINDOW, tick=True):
        channel = payments.channel("wechatpay")
        code, text = channel.client.pay(
            description="x", out_trade_no="X1", amount={"total": "69.00", "currency": "CNY"}, notify_url="https://a/",
            scene_info={"payer_client_ip": "1.1.1.1", "h5_info": {"type": "Wap"}})
    assert code == 400 and json.loads(text)["code"] == "PARAM_ERROR"


def test_a_refund_beyond_what_was_paid_is_refused_with_the_providers_code(open_wechat):
    payment = open_wechat.payments.get()
    with time_machine.travel(WINDOW, tick=True):
        pay_on_provider(payment)
        with pytest.raises(payments.ProviderError) as refused:
            payments.channel("wechatpay").refund(out_trade_no=payment.out_trade_no, out_refund_no="R9",
                                                 amount=Decimal("10.00"), total=Decimal("70.00"), reason="x",
                                                 notify_url=notify_url("wechatpay"))
    assert refused.value.code == "PARAM_ERROR"  # the total does not match the order's
    with time_machine.travel(WINDOW, tick=True), pytest.raises(payments.ProviderError) as refused:
        payments.channel("wechatpay").refund(out_trade_no=payment.out_trade_no, out_refund_no="R9",
                                             amount=Decimal("69.01"), total=Decimal("69.00"), reason="x",
                                             notify_url=notify_url("wechatpay"))
    assert refused.value.code == "NOT_ENOUGH" and not refused.value.retryable


def test_an_order_the_provider_does_not_know_reads_as_not_found(order):
    with time_machine.travel(WINDOW, tick=True):
        assert payments.channel("wechatpay").query("NOSUCH").state == "NOTFOUND"
        assert payments.channel("alipay").query("NOSUCH").state == "NOTFOUND"


# --- a provider that does not answer ---------------------------------------------------------------


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.parametrize("channel", ["wechatpay", "alipay"])
def test_a_timeout_refuses_the_click_quickly_writes_nothing_and_the_next_click_retries(order, silent_port, channel):
    base = f"http://127.0.0.1:{silent_port}"
    with override_settings(PAYMENT_TIMEOUT_SECONDS=1, WECHATPAY_BASE_URL=base, ALIPAY_BASE_URL=base + "/gateway.do"), \
            time_machine.travel(WINDOW, tick=True):
        started = time.monotonic()
        if channel == "wechatpay":
            with pytest.raises(billing.PaymentRefused) as refused:
                billing.payment_start(order=order, method="online", channel=channel)
            assert refused.value.code == "provider_unavailable"
            assert not Payment.objects.exists()
        else:  # Alipay's wap pay is a signed link the browser opens; the query is what times out
            billing.payment_start(order=order, method="online", channel=channel)
            with pytest.raises(payments.ProviderError) as refused:
                payments.channel("alipay").query(order.payments.get().out_trade_no)
            assert refused.value.code == "TIMEOUT" and refused.value.retryable
            assert billing.order_refresh(order=order) == "unreachable"
        assert time.monotonic() - started < 5
    with time_machine.travel(WINDOW, tick=True):
        payment = billing.payment_start(order=order, method="online", channel=channel)  # the provider is back
    assert payment.status == Payment.CREATED


# --- Alipay ---------------------------------------------------------------------------------------


@pytest.fixture
def open_alipay(order):
    with time_machine.travel(WINDOW, tick=True):
        payment = billing.payment_start(order=order, method="online", channel="alipay")
        requests.get(payment.pay_url, allow_redirects=False, timeout=10)
    return order


def alipay_params(order, **changes):
    trade = SimTrade.objects.get(out_trade_no=order.payments.get().out_trade_no)
    trade.state, trade.paid_at = SimTrade.SUCCESS, trade.created_at
    return {**provider.alipay_trade_notification(trade), **changes}


def post_form(params):
    from urllib.parse import urlencode

    return requests.post(notify_url("alipay"), data=urlencode(params).encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)


def test_alipay_signed_notification_is_answered_success(open_alipay):
    with time_machine.travel(WINDOW, tick=True):
        params = alipay_params(open_alipay, notify_time=time.strftime("%Y-%m-%d %H:%M:%S"))
        params["sign"] = provider.alipay_sign(params)
        response = post_form(params)
    assert (response.status_code, response.text) == (200, "success")
    assert Order.objects.get(pk=open_alipay.pk).status == Order.PAID


def test_alipay_tampered_notification_is_answered_fail_so_alipay_retries(open_alipay):
    with time_machine.travel(WINDOW, tick=True):
        params = alipay_params(open_alipay, notify_time=time.strftime("%Y-%m-%d %H:%M:%S"))
        params["sign"] = provider.alipay_sign(params)
        params["total_amount"] = "0.01"
        response = post_form(params)
    assert response.text == "fail"
    assert PaymentNotification.objects.get().outcome == "bad_signature"
    assert Order.objects.get(pk=open_alipay.pk).status == Order.PENDING


def test_alipay_amount_with_more_than_two_places_is_refused(open_alipay):
    with time_machine.travel(WINDOW, tick=True):
        params = alipay_params(open_alipay, notify_time=time.strftime("%Y-%m-%d %H:%M:%S"), total_amount="6900")
        params["sign"] = provider.alipay_sign(params)
        response = post_form(params)
    assert response.text == "fail" and PaymentNotification.objects.get().outcome == "amount_mismatch"


def test_alipay_refuses_a_request_signed_with_another_key(order):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with override_settings(ALIPAY_APP_PRIVATE_KEY=other), time_machine.travel(WINDOW, tick=True):
        with pytest.raises(payments.ProviderError) as refused:
            payments.channel("alipay").query("X")
    assert refused.value.code == "ALIPAY_40002"


def test_alipay_refund_beyond_what_was_paid_is_refused_with_its_sub_code(open_alipay):
    payment = open_alipay.payments.get()
    with time_machine.travel(WINDOW, tick=True):
        pay_on_provider(payment)
        with pytest.raises(payments.ProviderError) as refused:
            payments.channel("alipay").refund(out_trade_no=payment.out_trade_no, out_refund_no="R1",
                                              amount=Decimal("69.01"), total=Decimal("69.00"), reason="x",
                                              notify_url="")
    assert refused.value.code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"


# --- the notification schedule ------------------------------------------------------------------


def test_a_refused_notification_is_retried_on_the_providers_schedule(open_wechat, monkeypatch):
    from portal.integrations.payments.simulator import tasks

    with time_machine.travel(WINDOW, tick=True):
        trade = pay_on_provider(open_wechat.payments.get())
    note = SimNotification.objects.get(kind="transaction")
    SimNotification.objects.filter(pk=note.pk).update(url=notify_url("wechatpay").replace("wechatpay", "nosuch"))
    countdowns = []

    def retry(**kwargs):
        countdowns.append(kwargs["countdown"])
        raise RuntimeError("retry")

    monkeypatch.setattr(tasks.deliver_notification, "retry", retry)
    for attempt in range(3):
        tasks.deliver_notification.push_request(retries=attempt)
        with pytest.raises(RuntimeError):
            tasks.deliver_notification.run(note.pk)
        tasks.deliver_notification.pop_request()
    assert countdowns == [15, 15, 30]
    assert SimNotification.objects.get(pk=note.pk).attempts == 3
    assert trade.state == SimTrade.SUCCESS


def test_key_material_is_generated_once_per_directory(tmp_path, settings):
    settings.PAYMENT_SIMULATOR_KEY_DIR = tmp_path
    keys._load.cache_clear()
    first = keys.material()
    keys._load.cache_clear()
    assert keys.material() == first
    assert len(first["wechatpay_apiv3_key"]) == 32 and first["wechatpay_public_key_id"].startswith("PUB_KEY_ID_")
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0
