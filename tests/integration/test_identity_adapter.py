"""The identity-verification adapter speaks Tencent Cloud faceid's protocol through its SDK, over
real HTTP to the simulator, which verifies the TC3 signature and answers from the roster and the
carriers' records."""

from __future__ import annotations

import pytest

from portal.integrations import identity
from portal.integrations.identity import conf
from portal.integrations.identity.simulator.models import Outage
from tests.factories import MOTHER_ID, SELF_ID, UNINSURED_ID, carrier_line, roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    carrier_line("13800000001", SELF_ID, "张桂兰")
    carrier_line("13800000002", MOTHER_ID, "李秀英", isp="联通")


def test_two_factor_match_mismatch_and_no_record(people):
    match = identity.verify_id_card(name="张桂兰", id_number=SELF_ID)
    assert (match.outcome, match.result) == ("match", "0") and match.request_id
    assert identity.verify_id_card(name="张桂花", id_number=SELF_ID).outcome == "mismatch"
    assert identity.verify_id_card(name="张三", id_number=UNINSURED_ID).outcome == "no_record"
    assert identity.verify_id_card(name="张桂兰", id_number=SELF_ID[:-1] + "0").outcome == "invalid"


def test_three_factor_against_the_carrier(people):
    match = identity.verify_phone(name="张桂兰", id_number=SELF_ID, phone="13800000001")
    assert (match.outcome, match.isp) == ("match", "移动")
    assert identity.verify_phone(name="张桂兰", id_number=SELF_ID, phone="13800000002").outcome == "mismatch"
    assert identity.verify_phone(name="张桂兰", id_number=SELF_ID, phone="13900000009").outcome == "no_record"
    assert identity.verify_phone(name="张桂兰", id_number=SELF_ID, phone="1380000").outcome == "invalid"


def test_an_outage_is_unavailable_never_a_decision(people):
    Outage.objects.create(action="PhoneVerification")
    assert identity.verify_phone(name="张桂兰", id_number=SELF_ID, phone="13800000001").outcome == "unavailable"
    assert identity.verify_id_card(name="张桂兰", id_number=SELF_ID).outcome == "match"
    Outage.objects.create()
    assert identity.verify_id_card(name="张桂兰", id_number=SELF_ID).outcome == "unavailable"


def test_a_request_signed_with_another_key_is_refused_by_the_service(people):
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.faceid.v20180301 import models

    from portal.integrations.identity import faceid

    request = models.IdCardVerificationRequest()
    request.IdCard, request.Name = SELF_ID, "张桂兰"
    client = faceid._client()
    assert client.IdCardVerification(request).Result == "0"
    for secret_id, key, code in ((conf.secret_id(), "another-key", "AuthFailure.SignatureFailure"),
                                 ("AKIDsomeoneelse", conf.secret_key(), "AuthFailure.SecretIdNotFound")):
        client.credential = credential.Credential(secret_id, key)
        with pytest.raises(TencentCloudSDKException) as refused:
            client.IdCardVerification(request)
        assert refused.value.code == code


def test_no_answer_is_unavailable(people, settings):
    settings.IDENTITY_BASE_URL = "http://127.0.0.1:9/sim/identity"
    settings.IDENTITY_TIMEOUT_SECONDS = 1
    answer_ = identity.verify_id_card(name="张桂兰", id_number=SELF_ID)
    assert (answer_.outcome, answer_.result) == ("unavailable", "ClientNetworkError")


def test_the_simulator_refuses_an_unsigned_or_stale_request(client, people):
    response = client.post("/sim/identity/", b"{}", content_type="application/json", HTTP_X_TC_ACTION="IdCardVerification")
    assert response.json()["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_production_refuses_the_simulator_and_weak_keys(settings):
    settings.PRODUCTION = True
    settings.IDENTITY_BASE_URL = ""
    settings.IDENTITY_SECRET_ID, settings.IDENTITY_SECRET_KEY = "", "short"
    assert conf.base_url() == "https://faceid.tencentcloudapi.com"
    assert len(conf.production_errors()) == 2
    settings.IDENTITY_BASE_URL = settings.SIMULATOR_BASE_URL + "/identity"
    assert len(conf.production_errors()) == 3
    settings.IDENTITY_BASE_URL = ""
    settings.IDENTITY_SECRET_ID, settings.IDENTITY_SECRET_KEY = "AKID" + "x" * 32, "k" * 40
    assert conf.production_errors() == []
