"""Inputs the security review answered with a 500 (issue 13, item 7), outside the pages: the
settlement intake API and the payment providers' notifications."""

import json
import secrets
import time
from urllib.parse import parse_qsl, urlencode

import pytest
import time_machine

from claims.api import signature
from claims.models import Settlement
from enrollment import billing
from enrollment.models import Payment, PaymentNotification
from portal.integrations.payments.simulator import provider
from portal.integrations.payments.simulator.models import SimNotification
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    make_resident,
    pay_on_provider,
    pending_order,
    roster,
    settlement_source,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/settlements"


def _post(client, body: bytes, key_id="WW-FEED-1", secret="feed-secret"):
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return client.post(URL, data=body, content_type="application/json", HTTP_X_KEY_ID=key_id,
                       HTTP_X_TIMESTAMP=timestamp, HTTP_X_NONCE=nonce,
                       HTTP_X_SIGNATURE=signature(secret, "POST", URL, timestamp, nonce, body))


@pytest.fixture
def source(products):
    return settlement_source()


@pytest.mark.parametrize("depth", [20, 5000, 100_000])
def test_deeply_nested_json_is_refused_with_400(client, source, depth):
    body = ('{"records": [' + "[" * depth + "]" * depth + "]}").encode()
    response = _post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_json", "too_deep")
    assert "请求体" in response.json()["error"]["message"]


def test_a_nul_character_in_a_record_is_refused_and_nothing_is_stored(client, source):
    body = json.dumps({"records": [{"settlement_id": "S\u00001", "name": "张\u0000"}]}).encode()
    response = _post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nul_character"
    assert not Settlement.objects.exists()


def test_a_nul_byte_in_the_key_id_is_refused_before_authentication(client, source):
    response = _post(client, b'{"records": []}', key_id="WW-FEED\x00-1")
    assert response.status_code == 400
    assert "空字符" in response.json()["error"]["message"]


def test_a_signed_notification_reusing_another_payments_transaction_id_is_refused(client, products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        resident = make_resident()
        first = pending_order(resident, ("张桂兰", SELF_ID, "self"))
        second = pending_order(resident, ("李秀英", MOTHER_ID, "parent"))
        paid = pay_on_provider(billing.payment_start(order=first, method="online", channel="alipay"))
        assert provider.deliver(SimNotification.objects.filter(channel="alipay").latest("pk").pk) == "taken"
        pay_on_provider(billing.payment_start(order=second, method="online", channel="alipay"))
        note = SimNotification.objects.filter(channel="alipay").latest("pk")
        params = dict(parse_qsl(note.body, keep_blank_values=True))
        params["trade_no"] = paid.transaction_id  # Alipay's id of the first payment, correctly signed
        note.body = urlencode(params)
        headers, body = provider.notification_request(note)
        response = client.post("/pay/notify/alipay/", data=body, content_type=headers["Content-Type"])
    assert response.status_code == 200 and response.content == b"fail"  # Alipay retries, and is told no
    assert PaymentNotification.objects.latest("pk").outcome == "transaction_reused"
    assert Payment.objects.get(order=second).status != Payment.SUCCEEDED
    second.refresh_from_db()
    assert second.status == "pending"


def test_a_lone_surrogate_escape_is_refused(client, source):
    response = _post(client, b'{"records": [{"settlement_id": "S1", "name": "\\ud800"}]}')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_unicode"
    assert not Settlement.objects.exists()


def test_an_unknown_api_address_answers_json(client):
    response = client.post("/api/v1/settlements/a/b/reversal")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
