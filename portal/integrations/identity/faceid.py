"""Tencent Cloud faceid (实名核身) through ``tencentcloud-sdk-python-faceid``: the production path.

Each check is one signed API call (TC3-HMAC-SHA256, done by the SDK) answered with a ``Result``
code; ``CHECKS`` maps every code Tencent documents to an outcome. A check that does not get an
answer (network, signature refused, throttled, Tencent's own outage) is ``unavailable``: the
caller says "try again later" and never decides on a guess.

A check is one ``Check`` entry with its request fields and result codes: ``IdCardVerification``,
``PhoneVerification`` and ``BankCard4EVerification`` (name + ID + bank card + mobile, issue 15).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client, models

from portal.integrations.identity import conf

logger = logging.getLogger(__name__)

MATCH, MISMATCH, NO_RECORD, INVALID, UNSUPPORTED, UNAVAILABLE = (
    "match", "mismatch", "no_record", "invalid", "unsupported", "unavailable")


@dataclass(frozen=True)
class Answer:
    outcome: str
    result: str  # Tencent's Result code, or the error code when there was no result
    description: str = ""
    request_id: str = ""
    isp: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Check:
    action: str
    request: type
    results: dict[str, str]  # Result code → outcome


CHECKS = {
    # 二要素: name + ID number against the ID authority.
    "IdCardVerification": Check("IdCardVerification", models.IdCardVerificationRequest, {
        "0": MATCH, "-1": MISMATCH, "-2": INVALID, "-3": INVALID, "-4": UNAVAILABLE, "-5": NO_RECORD,
        "-6": UNAVAILABLE, "-7": UNAVAILABLE,
    }),
    # 三要素: name + ID number + mobile against the carrier's subscriber record.
    "PhoneVerification": Check("PhoneVerification", models.PhoneVerificationRequest, {
        "0": MATCH, "-4": MISMATCH, "-6": INVALID, "-7": INVALID, "-8": INVALID, "-9": NO_RECORD,
        "-11": UNAVAILABLE, "-12": UNAVAILABLE, "-13": UNSUPPORTED,
    }),
    # 银行卡四要素: name + ID number + card number + the mobile the bank holds for the card. The card's
    # own refusals (lost, expired, no card-not-present payment…) are a mismatch: it cannot be paid.
    "BankCard4EVerification": Check("BankCard4EVerification", models.BankCard4EVerificationRequest, {
        "0": MATCH, "-1": MISMATCH, "-6": MISMATCH, "-7": MISMATCH, "-8": MISMATCH, "-9": NO_RECORD,
        "-10": NO_RECORD, "-11": MISMATCH, "-12": MISMATCH, "-13": MISMATCH, "-14": MISMATCH, "-15": MISMATCH,
        "-16": MISMATCH, "-17": MISMATCH, "-21": NO_RECORD,
        "-2": INVALID, "-3": INVALID, "-4": INVALID, "-5": INVALID, "-18": UNAVAILABLE, "-19": UNAVAILABLE,
        "-20": UNSUPPORTED,
    }),
}


def _client() -> faceid_client.FaceidClient:
    """The SDK's client on the configured endpoint: ``faceid.tencentcloudapi.com`` over HTTPS, or
    the simulator's ``host:port/sim/identity/`` over HTTP (the SDK signs ``/`` on that host, as
    Tencent verifies it; the simulators' middleware takes the path out of the Host header)."""
    parts = urlsplit(conf.base_url())
    path = parts.path.rstrip("/")
    http = HttpProfile(protocol=parts.scheme or "https", endpoint=parts.netloc + (path + "/" if path else ""),
                       reqMethod="POST", reqTimeout=conf.timeout())
    return faceid_client.FaceidClient(credential.Credential(conf.secret_id(), conf.secret_key()), conf.region(),
                                      ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http))


def ask(action: str, **fields: str) -> Answer:
    """One check: ``ask("IdCardVerification", IdCard=..., Name=...)``."""
    check = CHECKS[action]
    request = check.request()
    request.from_json_string(_json(fields))
    try:
        response = getattr(_client(), action)(request)
    except TencentCloudSDKException as exc:
        logger.warning("faceid %s got no answer: %s", action, exc.code)
        return Answer(UNAVAILABLE, str(exc.code or "ClientNetworkError"), request_id=exc.requestId or "")
    result = str(response.Result)
    outcome = check.results.get(result, UNAVAILABLE)
    logger.info("faceid %s answered %s (%s)", action, result, response.RequestId)
    return Answer(outcome, result, response.Description or "", response.RequestId or "",
                  getattr(response, "Isp", "") or "", getattr(response, "ResultDetail", "") or "")


def _json(fields: dict[str, str]) -> str:
    import json

    return json.dumps(fields, ensure_ascii=False)
