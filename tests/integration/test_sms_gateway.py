"""The SMS adapter (Tencent Cloud SMS through its SDK) against the SMS simulator over real HTTP.

Tencent's answers are not signed (HTTPS only): the signature is checked one way, by the gateway,
on every request the SDK makes.
"""

import json
import socket
import threading
import time

import pytest
import requests
from django.conf import settings

from portal import crypto
from portal.integrations import sms
from portal.integrations.sms import conf, tc3
from portal.integrations.sms.models import SmsDispatch
from portal.integrations.sms.simulator import views as gateway
from portal.integrations.sms.simulator.models import SmsMessage

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def test_a_template_and_its_parameters_arrive_rendered_and_the_send_is_recorded():
    serial = sms.send(phone=PHONE, template="login_code", code="123456")
    message = SmsMessage.objects.to(PHONE).get()
    assert message.serial_no == serial and message.template_id == "2301001" and message.params == ["123456"]
    assert message.body == "【惠民保】您的登录验证码为123456，5分钟内有效，请勿泄露。"
    record = SmsDispatch.objects.get(serial_no=serial)
    assert (record.template, record.status, record.phone_masked) == ("login_code", "sent", "138****5678")
    assert record.phone_hash == crypto.blind_index(PHONE)


def test_delivery_receipts_are_pulled_once_and_recorded():
    delivered = sms.send(phone=PHONE, template="ticket_replied", number="T2025000001")
    lost = sms.send(phone="13900004040", template="ticket_replied", number="T2025000002")
    assert sms.receipts_pull() == 2
    assert SmsDispatch.objects.get(serial_no=delivered).status == "delivered"
    assert SmsDispatch.objects.get(serial_no=delivered).delivered_at is not None
    failed = SmsDispatch.objects.get(serial_no=lost)
    assert (failed.status, failed.report_status, failed.report_description) == ("failed", "FAIL", "空号或停机")
    assert sms.receipts_pull() == 0  # each receipt is handed out once


def test_only_listed_templates_with_their_parameters_can_be_sent():
    with pytest.raises(KeyError):
        sms.send(phone=PHONE, template="free_text")
    with pytest.raises(ValueError):
        sms.send(phone=PHONE, template="login_code", code="1", text="任意内容")
    assert not SmsMessage.objects.exists()


def _other_account(monkeypatch, **changes):
    account = conf.sms()
    monkeypatch.setattr(gateway, "account", lambda: account.__class__(**{**account.__dict__, **changes}))


def test_a_request_signed_with_another_key_is_refused_and_nothing_is_sent(monkeypatch):
    _other_account(monkeypatch, secret_key="x" * 32)
    with pytest.raises(sms.SmsError) as refused:
        sms.send(phone=PHONE, template="login_code", code="123456")
    assert refused.value.code == "AuthFailure.SignatureFailure"
    assert not SmsMessage.objects.exists()
    assert SmsDispatch.objects.get().status == "refused" and SmsDispatch.objects.get().code == refused.value.code


def _post(body: dict, *, timestamp: int, tamper: bytes | None = None):
    account = conf.sms()
    payload = json.dumps(body).encode()
    content_type = "application/json"
    canonical = tc3.canonical_request(method="POST", uri="/", query="", content_type=content_type,
                                      host=account.endpoint, payload=payload)
    headers = {"Content-Type": content_type, "Host": account.endpoint, "X-TC-Action": "SendSms",
               "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(timestamp), "X-TC-Region": "ap-guangzhou",
               "Authorization": tc3.authorization(secret_id=account.secret_id, secret_key=account.secret_key,
                                                  timestamp=timestamp, service="sms", canonical=canonical)}
    answer = requests.post(f"{settings.SIMULATOR_BASE_URL}/sms/api/", data=tamper or payload, headers=headers, timeout=5)
    assert answer.status_code == 200
    return answer.json()["Response"]


def _body(code="111111"):
    account = conf.sms()
    return {"PhoneNumberSet": [f"+86{PHONE}"], "SmsSdkAppId": account.sdk_app_id, "SignName": account.sign_name,
            "TemplateId": "2301001", "TemplateParamSet": [code]}


def test_a_tampered_body_fails_the_signature_check():
    answer = _post(_body(), timestamp=int(time.time()), tamper=json.dumps(_body("999999")).encode())
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert not SmsMessage.objects.exists()


def test_a_replayed_request_is_sent_again_within_five_minutes_and_refused_after():
    now = int(time.time())
    assert _post(_body(), timestamp=now)["SendStatusSet"][0]["Code"] == "Ok"
    assert _post(_body(), timestamp=now)["SendStatusSet"][0]["Code"] == "Ok"  # TC3 has no nonce, as at Tencent
    assert _post(_body(), timestamp=now - 301)["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert SmsMessage.objects.count() == 2


@pytest.mark.parametrize(("changes", "phone", "code"), [
    ({"sign_name": "别的签名"}, PHONE, "FailedOperation.SignatureIncorrectOrUnapproved"),
    ({"template_ids": {}}, PHONE, "FailedOperation.TemplateIncorrectOrUnapproved"),
    ({"sdk_app_id": "1400999999"}, PHONE, "UnauthorizedOperation.SmsSdkAppIdVerifyFail"),
    ({}, "12345678901", "InvalidParameterValue.IncorrectPhoneNumber"),  # per number, in SendStatusSet
])
def test_the_gateways_error_codes_reach_the_caller(monkeypatch, changes, phone, code):
    if changes:
        _other_account(monkeypatch, **changes)
    with pytest.raises(sms.SmsError) as refused:
        sms.send(phone=phone, template="login_code", code="123456")
    assert refused.value.code == code
    assert not SmsMessage.objects.exists()
    assert SmsDispatch.objects.get().code == code


def test_a_gateway_that_does_not_answer_times_out(settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    settings.SMS_ENDPOINT = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    settings.SMS_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(sms.SmsError) as refused:
        sms.send(phone=PHONE, template="login_code", code="123456")
    assert refused.value.code == "ClientNetworkError" and time.monotonic() - started < 5
    assert SmsDispatch.objects.get().status == "refused"
    listener.close()


def test_production_names_every_missing_sms_setting(settings):
    settings.PRODUCTION = True
    settings.SMS_SECRET_ID = settings.SMS_SECRET_KEY = settings.SMS_SDK_APP_ID = ""
    settings.SMS_ENDPOINT = "http://127.0.0.1:8000/sim/sms/api/"
    errors = conf.production_errors()
    assert "SMS_SECRET_ID is not set" in errors and "SMS_SECRET_KEY is not set" in errors
    assert any("SMS_ENDPOINT points at a simulator" in e for e in errors)
    assert any(e.startswith("SMS_TEMPLATE_IDS names no approved template") for e in errors)
