"""The window calls in the 医疗保障信息平台 envelope (SM2 over SM3 both ways, msgid once)."""

import pytest

from claims.models import SettlementSource, WindowSettlement
from portal.integrations.hsa import conf, envelope, sm
from portal.integrations.hsa.simulator import keys
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/hsa/window"


@pytest.fixture
def platform(products):
    roster(SELF_ID, "张桂兰")
    active_policy(make_resident())
    return settlement_source(key_id="HSA-620600")


def send(client, infno, data, *, key=None, message=None):
    message = message or envelope.request(infno, {"data": data}, mdtrtarea_admvs="620600")
    body = envelope.dumps(envelope.sign(message, key or keys.platform_private_key()))
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 200
    reply = envelope.loads(response.content)
    assert envelope.verified(reply, sm.public_key_of(conf.private_key()))  # signed by the insurer
    return reply


def test_quote_settle_and_reverse_in_the_platforms_envelope(client, platform):
    quoted = send(client, "2303", settlement_record("S1"))
    assert quoted["infcode"] == "0" and quoted["output"]["payout"] == "5400.00"
    settled = send(client, "2304", settlement_record("S1"))
    assert settled["infcode"] == "0" and settled["output"]["status"] == "settled"
    assert WindowSettlement.objects.get().source == platform
    again = send(client, "2304", settlement_record("S1"))
    assert again["output"] == settled["output"] and WindowSettlement.objects.count() == 1
    reversed_ = send(client, "2305", {"setl_id": "S1"})
    assert reversed_["infcode"] == "0" and reversed_["output"]["payout_reversed"] == "5400.00"


def test_refusals_are_signed_answers_naming_the_field(client, platform):
    bad = settlement_record("S1")
    bad["hospital_level"] = 9
    refused = send(client, "2304", bad)
    assert refused["infcode"] == "-1" and refused["output"]["errors"][0]["field"] == "hospital_level"
    assert "hospital_level" in refused["err_msg"]
    forged = send(client, "2304", settlement_record("S1"), key=conf.private_key())  # not the platform's key
    assert forged["infcode"] == "-1" and forged["output"]["errors"][0]["code"] == "envelope_invalid"
    message = envelope.request("2303", {"data": settlement_record("S1")}, mdtrtarea_admvs="620600")
    assert send(client, "2303", None, message=message)["infcode"] == "0"
    replay = send(client, "2303", None, message=message)
    assert replay["infcode"] == "-1" and replay["output"]["errors"][0]["code"] == "msgid_reused"
    assert send(client, "9999", {})["output"]["errors"][0]["code"] == "unknown_infno"
    SettlementSource.objects.update(active=False)
    assert send(client, "2303", settlement_record("S1"))["output"]["errors"][0]["code"] == "unknown_area"
    assert not WindowSettlement.objects.exists()
