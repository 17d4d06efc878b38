"""The SMS adapter: the simulator's outbox, and the HTTP gateway interface with its signature."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import override_settings

from portal import sms
from portal.simulators.models import SmsMessage

pytestmark = pytest.mark.django_db


def test_the_simulator_keeps_what_the_phone_would_receive():
    message_id = sms.send(phone="13812345678", template="login_code", code="123456")
    message = SmsMessage.objects.get(message_id=message_id)
    assert message.body == "【惠民保】您的登录验证码为123456，5分钟内有效，请勿泄露。"


class Gateway(BaseHTTPRequestHandler):
    received: list = []
    answer = {"code": "OK", "message_id": "GW-1"}

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = self.headers["X-Signature"] == sms.signature("sms-secret", self.headers["X-Timestamp"],
                                                            self.headers["X-Nonce"], body)
        Gateway.received.append((self.path, valid, json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps(Gateway.answer).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Gateway.received = []
    with override_settings(SMS_BACKEND="http", SMS_API_URL=f"http://127.0.0.1:{server.server_port}",
                           SMS_APP_KEY="portal", SMS_APP_SECRET="sms-secret"):
        yield Gateway
    server.shutdown()


def test_the_http_gateway_gets_a_signed_request(gateway):
    gateway.answer = {"code": "OK", "message_id": "GW-1"}
    assert sms.send(phone="13812345678", template="login_code", code="654321") == "GW-1"
    path, valid, payload = gateway.received[0]
    assert path == "/v1/sms/send" and valid
    assert payload["phone"] == "13812345678" and "654321" in payload["text"]
    assert not SmsMessage.objects.exists()


def test_a_refusal_by_the_gateway_is_an_error(gateway):
    gateway.answer = {"code": "BLACKLISTED"}
    with pytest.raises(sms.SmsError):
        sms.send(phone="13812345678", template="login_code", code="654321")


def test_an_unreachable_gateway_is_an_error():
    with override_settings(SMS_BACKEND="http", SMS_API_URL="http://127.0.0.1:1"), pytest.raises(sms.SmsError):
        sms.send(phone="13812345678", template="login_code", code="654321")
