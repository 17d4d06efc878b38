"""The settlement feed in the 医疗保障信息平台's envelope (``claims.platform_api``), over real HTTP
on loopback: the platform simulator signs and pushes (C301 settlements, 2208 reversal), the portal
verifies, maps through ``claims.rules.setlinfo`` and answers signed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from claims.models import Settlement
from portal.integrations.hsa import sm
from portal.integrations.hsa.simulator.push import push
from tests.factories import WEIHAI_ID, active_policy, make_resident, roster, settlement_source
from tests.unit.test_setlinfo import SAMPLE

pytestmark = pytest.mark.django_db
SENDER = "HSA371000001"


@pytest.fixture
def feed(products):
    roster(WEIHAI_ID, "王建国", category="employee")
    resident = make_resident(phone="13900000009", name="王建国", id_number=WEIHAI_ID)
    policy = active_policy(resident, product="weihai-2025", plan="standard", when="2024-10-15 10:00 +08:00")
    settlement_source("weihai", key_id=SENDER)
    return policy


def record(setl_id="S1", **changes):
    return {**SAMPLE, "setl_id": setl_id, "certno": WEIHAI_ID, **changes}


def test_pushed_settlements_are_mapped_matched_and_answered_per_record(feed):
    answer = push("C301", {"setlinfo": [record("S1"), record("S2", fund_pay_sumamt="1.00")]}, sender=SENDER)
    assert answer["infcode"] == "0"
    output = answer["output"]
    assert output["counts"] == {"accepted": "1", "conflict": "0", "refused": "1"}
    assert output["results"][1]["errors"][0]["field"] == "setlinfo.fund_pay_sumamt"
    stored = Settlement.objects.get(settlement_id="S1")
    assert stored.policy_id == feed.pk and stored.record["amounts"]["in_catalog_self_pay"] == "30000.00"
    assert Decimal(stored.record["amounts"]["base_fund_paid"]) == Decimal("21000.00")
    assert not Settlement.objects.filter(settlement_id="S2").exists()


def test_the_same_record_again_is_accepted_once_and_changed_content_is_a_conflict(feed):
    push("C301", {"setlinfo": [record("S1")]}, sender=SENDER)
    again = push("C301", {"setlinfo": [record("S1"), record("S1", hifp_pay="19000.00", fund_pay_sumamt="26000.00",
                                                              psn_part_amt="37000.00")]}, sender=SENDER)
    assert [r["status"] for r in again["output"]["results"]] == ["accepted", "conflict"]
    assert Settlement.objects.filter(settlement_id="S1").count() == 1


def test_an_engine_level_refusal_is_named_as_the_platform_field(feed):
    answer = push("C301", {"setlinfo": [record("S3", certno=WEIHAI_ID[:-1] + ("0" if WEIHAI_ID[-1] != "0" else "1"))]},
                  sender=SENDER)
    result = answer["output"]["results"][0]
    assert result["status"] == "refused" and result["errors"][0]["field"] == "setlinfo.certno"


def test_the_reversal_is_its_own_transaction(feed):
    push("C301", {"setlinfo": [record("S1")]}, sender=SENDER)
    answer = push("2208", {"data": {"setl_id": "S1", "mdtrt_id": SAMPLE["mdtrt_id"], "psn_no": SAMPLE["psn_no"]}},
                  sender=SENDER)
    assert answer["infcode"] == "0" and answer["output"]["status"] == "accepted"
    assert Settlement.objects.get(settlement_id="S1").reversed_at is not None
    unknown = push("2208", {"data": {"setl_id": "S-NONE"}}, sender=SENDER)
    assert unknown["infcode"] == "-1" and "setl_id" in unknown["err_msg"]


def test_a_tampered_or_foreign_signature_stores_nothing(feed):
    def tamper(message):
        message["input"]["setlinfo"][0]["hifp_pay"] = "1.00"
        return message

    answer = push("C301", {"setlinfo": [record("S1")]}, sender=SENDER, tamper=tamper)
    assert answer["infcode"] == "-1" and "cainfo" in answer["err_msg"]
    foreign = push("C301", {"setlinfo": [record("S1")]}, sender=SENDER, private_key=sm.new_private_key())
    assert foreign["infcode"] == "-1"
    assert not Settlement.objects.exists()


def test_an_unknown_sender_or_infno_is_refused(feed):
    assert "fixmedins_code" in push("C301", {"setlinfo": [record()]}, sender="HSA999999999")["err_msg"]
    answer = push("2207", {"data": {}}, sender=SENDER)
    assert answer["infcode"] == "-1" and "2207" in answer["err_msg"]
    assert not Settlement.objects.exists()
