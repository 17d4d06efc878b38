"""Tencent Cloud API 3.0 as faceid speaks it: ``POST /`` with a JSON body, the action in
``X-TC-Action``, signed TC3-HMAC-SHA256 over ``content-type`` and ``host``.

Every answer is HTTP 200 with ``{"Response": {...}}``: a ``Result`` code for a check, or
``{"Error": {"Code", "Message"}}`` for a request refused (signature, key, expired timestamp, unknown
action, missing parameter), exactly as the SDK expects.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from enrollment import idnumber
from portal import crypto
from portal.integrations.identity import conf
from portal.integrations.identity.simulator.models import BankCard, CarrierLine, Outage
from portal.integrations.sms import tc3
from portal.integrations.sms.simulator.middleware import SIGNED_HOST

VERSION = "2018-03-01"
SERVICE = "faceid"
MAX_SKEW_SECONDS = 300
NAME = re.compile(r"^[\u4e00-\u9fa5·A-Za-z][\u4e00-\u9fa5·A-Za-z ]{0,28}[\u4e00-\u9fa5A-Za-z]$")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def _answer(fields: dict) -> JsonResponse:
    return JsonResponse({"Response": {**fields, "RequestId": str(uuid.uuid4())}}, json_dumps_params={"ensure_ascii": False})


def _error(code: str, message: str) -> JsonResponse:
    return _answer({"Error": {"Code": code, "Message": message}})


def _signature_error(request) -> JsonResponse | None:
    """The SDK's TC3-HMAC-SHA256 signature, checked as Tencent does (``portal.integrations.sms.tc3``
    writes the algorithm out once for every simulator of a Tencent Cloud API)."""
    auth = tc3.parse_authorization(request.headers.get("Authorization", ""))
    if auth is None or auth.signed_headers != "content-type;host" or auth.service != SERVICE:
        return _error("AuthFailure.InvalidAuthorization", "Authorization 不符合腾讯云 API 3.0 签名规范。")
    if auth.secret_id != conf.secret_id():
        return _error("AuthFailure.SecretIdNotFound", "密钥不存在。")
    timestamp = request.headers.get("X-TC-Timestamp", "")
    if not timestamp.isdigit():
        return _error("AuthFailure.InvalidAuthorization", "X-TC-Timestamp 缺失或不是整数。")
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return _error("AuthFailure.SignatureExpire", "签名过期：X-TC-Timestamp 与服务器时间相差超过5分钟。")
    host = request.META.get(SIGNED_HOST) or request.META.get("HTTP_HOST", "")
    canonical = tc3.canonical_request(method="POST", uri="/", query="", content_type=request.META.get("CONTENT_TYPE", ""),
                                      host=host, payload=request.body)
    expected = tc3.signature(secret_key=conf.secret_key(), timestamp=int(timestamp), service=SERVICE,
                             canonical=canonical)
    if not tc3.same(expected, auth.signature):
        return _error("AuthFailure.SignatureFailure", "签名错误：请求的签名与服务器计算的不一致。")
    return None


def _down(action: str) -> bool:
    return Outage.objects.filter(action__in=("", action)).exists()


def _id_card(params: dict) -> dict:
    from portal.simulators.models import RosterEntry

    try:
        number = idnumber.parse(str(params["IdCard"])).number
    except idnumber.IdNumberError:
        return {"Result": "-2", "Description": "非法身份证号（长度、校验位等不正确）"}
    name = str(params["Name"]).strip()
    if not NAME.match(name):
        return {"Result": "-3", "Description": "非法姓名（长度、格式等不正确）"}
    if _down("IdCardVerification"):
        return {"Result": "-4", "Description": "证件库服务异常"}
    entry = RosterEntry.objects.filter(id_hash=crypto.blind_index(number)).first()
    if entry is None:
        return {"Result": "-5", "Description": "证件库中无此身份证记录"}
    if entry.name.strip() != name:
        return {"Result": "-1", "Description": "姓名和身份证号不一致"}
    return {"Result": "0", "Description": "姓名和身份证号一致"}


def _phone(params: dict) -> dict:
    phone = str(params["Phone"]).strip()
    if not PHONE.match(phone):
        return {"Result": "-6", "Description": "手机号码不合法", "Isp": ""}
    try:
        number = idnumber.parse(str(params["IdCard"])).number
    except idnumber.IdNumberError:
        return {"Result": "-7", "Description": "身份证号码有误", "Isp": ""}
    name = str(params["Name"]).strip()
    if not NAME.match(name):
        return {"Result": "-8", "Description": "姓名校验不通过", "Isp": ""}
    if _down("PhoneVerification"):
        return {"Result": "-11", "Description": "验证中心服务繁忙", "Isp": ""}
    line = CarrierLine.objects.filter(phone_hash=crypto.blind_index(phone)).first()
    if line is None:
        return {"Result": "-9", "Description": "没有记录", "Isp": ""}
    same_id, same_name = line.id_hash == crypto.blind_index(number), line.name.strip() == name
    if same_id and same_name:
        return {"Result": "0", "Description": "认证通过", "Isp": line.isp}
    answer = {"Result": "-4", "Description": "三要素信息不一致", "Isp": line.isp}
    if str(params.get("VerifyMode", "0")) == "1":
        answer["ResultDetail"] = ("PhoneIdCardMismatch" if same_name else "PhoneNameMismatch" if same_id
                                  else "PhoneNameIdCardMismatch")
    return answer


CARD = re.compile(r"^[0-9]{12,19}$")
CARD_REFUSALS = {BankCard.LOST: "此卡已挂失", BankCard.EXPIRED: "该卡已过期"}


def _bank_card(params: dict) -> dict:
    """Four factors against the issuing bank's record of the card (this simulator's ``BankCard``),
    the holder's name and ID number also checked against the ID authority's roster."""
    from portal.simulators.models import RosterEntry

    name = str(params["Name"]).strip()
    if not NAME.match(name):
        return {"Result": "-2", "Description": "姓名校验不通过"}
    try:
        number = idnumber.parse(str(params["IdCard"])).number
    except idnumber.IdNumberError:
        return {"Result": "-3", "Description": "身份证号码有误"}
    card = str(params["BankCard"]).strip()
    if not CARD.match(card):
        return {"Result": "-4", "Description": "银行卡号码有误"}
    phone = str(params["Phone"]).strip()
    if not PHONE.match(phone):
        return {"Result": "-5", "Description": "手机号码不合法"}
    if _down("BankCard4EVerification"):
        return {"Result": "-18", "Description": "验证中心服务繁忙"}
    record = BankCard.objects.filter(card_hash=crypto.blind_index(card)).first()
    if record is None:
        return {"Result": "-9", "Description": "无效卡号"}
    if record.status in CARD_REFUSALS:
        return {"Result": record.status, "Description": CARD_REFUSALS[record.status]}
    holder = RosterEntry.objects.filter(id_hash=crypto.blind_index(number)).first()
    if (record.id_hash != crypto.blind_index(number) or record.name != name
            or record.phone_hash != crypto.blind_index(phone) or (holder is not None and holder.name.strip() != name)):
        return {"Result": "-1", "Description": "认证未通过"}
    return {"Result": "0", "Description": "认证通过"}


ACTIONS = {"IdCardVerification": (_id_card, ("IdCard", "Name")),
           "PhoneVerification": (_phone, ("IdCard", "Name", "Phone")),
           "BankCard4EVerification": (_bank_card, ("IdCard", "Name", "BankCard", "Phone"))}


@csrf_exempt
@require_POST
def api(request):
    refused = _signature_error(request)
    if refused is not None:
        return refused
    action = request.headers.get("X-TC-Action", "")
    if action not in ACTIONS:
        return _error("InvalidAction", f"The action {action!r} is not found.")
    if request.headers.get("X-TC-Version") != VERSION:
        return _error("InvalidParameterValue", f"X-TC-Version must be {VERSION}.")
    try:
        params = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error("InvalidParameter", "The body is not JSON.")
    handler, required = ACTIONS[action]
    if not isinstance(params, dict):
        return _error("InvalidParameter", "The body is not a JSON object.")
    missing = [name for name in required if not params.get(name)]
    if missing:
        return _error("MissingParameter", f"The parameter {missing[0]} is missing.")
    return _answer(handler(params))

