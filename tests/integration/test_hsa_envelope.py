"""The 医疗保障信息平台 envelope, over real HTTP to the platform simulator on loopback: both
directions signed with SM2/SM3 and verified, and each failure with its behaviour."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from portal.integrations.hsa import conf, envelope, sm
from portal.integrations.hsa.simulator import keys

pytestmark = pytest.mark.django_db
SIGN_IN = {"signIn": {"opter_no": "HMB-SELF", "mac": "", "ip": "127.0.0.1"}}


def _post(message: dict) -> dict:
    response = requests.post(conf.service_url(), data=envelope.dumps(message), timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    answer = envelope.loads(response.content)
    assert envelope.verified(answer, keys.platform_public_key())  # even a refusal is signed
    return answer


def test_a_signed_request_gets_a_verified_answer():
    answer = envelope.call("9001", SIGN_IN)
    assert answer.infcode == 0 and len(answer.output["signinoutb"]["sign_no"]) == 32
    assert len(answer.msgid) == 30 and answer.msgid.startswith(conf.fixmedins_code())
    assert len(answer.inf_refmsgid) == 30


def test_the_request_envelope_carries_the_specifications_fields():
    message = envelope.sign(envelope.request("1101", {"data": {}}, insuplc_admdvs="371002"), conf.private_key())
    assert set(envelope.REQUEST_FIELDS) == set(message)
    assert (message["infno"], message["insuplc_admdvs"], message["signtype"], message["infver"]) == (
        "1101", "371002", "SM2", "V1.0")
    assert sm.verify(envelope.plain(message), message["cainfo"], sm.public_key_of(conf.private_key()))


def test_a_tampered_request_is_refused_by_the_platform():
    message = envelope.sign(envelope.request("9001", SIGN_IN), conf.private_key())
    answer = _post({**message, "opter_name": "冒名者"})
    assert answer["infcode"] == "-1" and "cainfo" in answer["err_msg"]


def test_a_request_signed_with_another_key_is_refused():
    message = envelope.sign(envelope.request("9001", SIGN_IN), sm.new_private_key())
    assert _post(message)["infcode"] == "-1"


def test_a_stale_request_is_refused():
    message = envelope.sign(envelope.request("9001", SIGN_IN, at=envelope.now() - timedelta(minutes=10)),
                            conf.private_key())
    answer = _post(message)
    assert answer["infcode"] == "-1" and "inf_time" in answer["err_msg"]


def test_an_unknown_infno_is_a_platform_error():
    with pytest.raises(envelope.PlatformError) as refused:
        envelope.call("0000", {"data": {}})
    assert refused.value.infcode == -1 and "0000" in refused.value.err_msg


def test_an_error_infcode_carries_the_platforms_message():
    with pytest.raises(envelope.PlatformError) as refused:
        envelope.call("9001", {"signIn": {"opter_no": ""}})
    assert "opter_no" in refused.value.err_msg


def test_an_answer_with_a_wrong_signature_is_not_believed(settings):
    settings.HSA_PLATFORM_PUBLIC_KEY = sm.public_key_of(sm.new_private_key())
    with pytest.raises(envelope.SignatureInvalid):
        envelope.call("9001", SIGN_IN)


def test_a_tampered_answer_is_not_believed(monkeypatch):
    from portal.integrations.hsa.simulator import transactions

    real = envelope.answer

    def tampered(*args, **kwargs):
        body = json.loads(real(*args, **kwargs))
        body["output"]["signinoutb"]["sign_no"] = "0" * 32
        return json.dumps(body).encode()

    monkeypatch.setattr(envelope, "answer", tampered)
    assert transactions.HANDLERS["9001"]
    with pytest.raises(envelope.SignatureInvalid):
        envelope.call("9001", SIGN_IN)


def test_no_answer_is_unavailable(settings):
    settings.HSA_SERVICE_URL = "http://127.0.0.1:9/sim/hsa/fsi/api/rsfComIfsService/callService"
    settings.HSA_TIMEOUT_SECONDS = 1
    with pytest.raises(envelope.Unavailable):
        envelope.call("9001", SIGN_IN)


def test_a_timeout_is_unavailable(settings):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    settings.HSA_SERVICE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/callService"
    settings.HSA_TIMEOUT_SECONDS = 0.5
    try:
        with pytest.raises(envelope.Unavailable) as unavailable:
            envelope.call("9001", SIGN_IN)
        assert "timeout" in unavailable.value.detail.lower()
    finally:
        listener.close()


def test_an_http_error_is_unavailable(settings):
    settings.HSA_SERVICE_URL = settings.SIMULATOR_BASE_URL + "/hsa/no-such-path"
    with pytest.raises(envelope.Unavailable) as unavailable:
        envelope.call("9001", SIGN_IN)
    assert unavailable.value.detail == "HTTP 404"


def test_production_refuses_the_simulator_and_weak_keys(settings):
    settings.PRODUCTION = True
    settings.HSA_SERVICE_URL = settings.SIMULATOR_BASE_URL + conf.SERVICE_PATH
    settings.HSA_PRIVATE_KEY = conf.development_private_key()
    settings.HSA_PLATFORM_PUBLIC_KEY = keys.platform_public_key()
    errors = " ".join(conf.production_errors())
    for name in ("HSA_SERVICE_URL", "HSA_FIXMEDINS_CODE", "HSA_PRIVATE_KEY", "HSA_PLATFORM_PUBLIC_KEY",
                 "HSA_RECER_SYS_CODE"):
        assert name in errors
    settings.HSA_SERVICE_URL = "https://fsi.example.gov.cn/fsi/api/rsfComIfsService/callService"
    settings.HSA_FIXMEDINS_CODE, settings.HSA_FIXMEDINS_NAME = "P37100000123", "某保险公司威海中心支公司"
    settings.HSA_MDTRTAREA_ADMVS, settings.HSA_RECER_SYS_CODE = "371000", "YBXT"
    settings.HSA_PRIVATE_KEY = sm.new_private_key()
    settings.HSA_PLATFORM_PUBLIC_KEY = sm.public_key_of(sm.new_private_key())
    assert conf.production_errors() == []
