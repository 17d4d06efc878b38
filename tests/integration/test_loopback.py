"""The simulators answer over real HTTP on loopback, inside the test's transaction."""

import urllib.request

from django.conf import settings

from portal.crypto import blind_index
from portal.integrations.sms.simulator.models import SmsMessage


def test_a_simulator_reads_what_the_test_wrote_over_http(db):
    SmsMessage.objects.create(phone_hash=blind_index("13800000009"), phone_masked="138****0009", template_id="1",
                              report_status="SUCCESS", report_description="", body="【惠民保】回环测试 123456",
                              serial_no="SIM-LOOPBACK")
    assert settings.SIMULATOR_BASE_URL.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{settings.SIMULATOR_BASE_URL}/sms/?phone=13800000009", timeout=5) as response:
        page = response.read().decode()
    assert "回环测试 123456" in page


def test_the_simulators_writes_are_rolled_back_with_the_test(db):
    assert not SmsMessage.objects.filter(serial_no="SIM-LOOPBACK").exists()
