"""The SMS simulator: Tencent Cloud SMS API 2021-01-11 (``SendSms``, ``PullSmsSendStatus``) over
HTTP, with Tencent's TC3-HMAC-SHA256 check and error codes, and the outbox page.

As at Tencent: every answer is HTTP 200 with ``{"Response": {..., "RequestId"}}``; a refused
request carries ``Response.Error`` (``Code``, ``Message``); a request signed more than 5 minutes ago
is ``AuthFailure.SignatureExpire`` (TC3 has no nonce: within those 5 minutes a replayed request is
sent again, as Tencent would). Per number, ``SendStatusSet`` says ``Ok`` or why not. Every message
sent gets a delivery report, handed out once by ``PullSmsSendStatus``: ``SUCCESS``, except for
numbers ending in 4040, which the simulator treats as out of service (``FAIL``).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid

from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from portal import crypto
from portal.integrations.sms import conf, masked_phone, tc3
from portal.integrations.sms.simulator.middleware import SIGNED_HOST
from portal.integrations.sms.simulator.models import SmsMessage
from portal.integrations.sms.templates import TEMPLATES
from portal.integrations.sms.templates import render as render_template

VERSION = "2021-01-11"
SIGNATURE_WINDOW = 300
PHONE = re.compile(r"^\+861[3-9]\d{9}$")
UNDELIVERABLE_SUFFIX = "4040"


def account():
    """The simulated Tencent account: it knows the same credentials, app and approved templates
    as the portal's settings name (as the real account would)."""
    return conf.sms()


def _answer(body: dict) -> JsonResponse:
    return JsonResponse({"Response": {**body, "RequestId": str(uuid.uuid4())}}, json_dumps_params={"ensure_ascii": False})


def _error(code: str, message: str) -> JsonResponse:
    return _answer({"Error": {"Code": code, "Message": message}})


def _authenticate(request, account) -> JsonResponse | None:
    auth = tc3.parse_authorization(request.headers.get("Authorization", ""))
    if auth is None or auth.signed_headers != "content-type;host":
        return _error("AuthFailure.InvalidAuthorization", "Authorization 不符合腾讯云 API 3.0 签名规范。")
    timestamp = request.headers.get("X-TC-Timestamp", "")
    if not timestamp.isdigit():
        return _error("AuthFailure.InvalidAuthorization", "X-TC-Timestamp 缺失或不是整数。")
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW:
        return _error("AuthFailure.SignatureExpire", "签名过期：X-TC-Timestamp 与服务器时间相差超过5分钟。")
    if auth.secret_id != account.secret_id:
        return _error("AuthFailure.SecretIdNotFound", "密钥不存在。")
    if auth.service != "sms":
        return _error("AuthFailure.InvalidAuthorization", "Credential 中的服务名不是 sms。")
    host = request.META.get(SIGNED_HOST) or request.META.get("HTTP_HOST", "")
    canonical = tc3.canonical_request(method="POST", uri="/", query="", content_type=request.content_type_header,
                                      host=host, payload=request.body)
    expected = tc3.signature(secret_key=account.secret_key, timestamp=int(timestamp), service="sms",
                             canonical=canonical)
    if not tc3.same(expected, auth.signature):
        return _error("AuthFailure.SignatureFailure", "签名错误：请求的签名与服务器计算的不一致。")
    return None


@csrf_exempt
def api(request):
    if request.method != "POST":
        return _error("UnsupportedOperation", "只接受 POST。")
    request.content_type_header = request.META.get("CONTENT_TYPE", "")
    account_ = account()
    refused = _authenticate(request, account_)
    if refused:
        return refused
    if request.headers.get("X-TC-Version") != VERSION:
        return _error("NoSuchVersion", f"接口版本应为 {VERSION}。")
    try:
        params = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error("InvalidParameter", "请求体不是有效的 JSON。")
    if not isinstance(params, dict):
        return _error("InvalidParameter", "请求体应为 JSON 对象。")
    if params.get("SmsSdkAppId") != account_.sdk_app_id:
        return _error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败。")
    action = request.headers.get("X-TC-Action")
    if action == "SendSms":
        return _send(params, account_)
    if action == "PullSmsSendStatus":
        return _pull(params)
    return _error("InvalidAction", f"接口 {action} 不存在。")


def _send(params: dict, account) -> JsonResponse:
    if params.get("SignName") != account.sign_name:
        return _error("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。")
    by_id = {template_id: TEMPLATES[name] for name, template_id in account.template_ids.items() if name in TEMPLATES}
    template = by_id.get(str(params.get("TemplateId", "")))
    if template is None:
        return _error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配。")
    values = params.get("TemplateParamSet") or []
    if not isinstance(values, list) or len(values) != len(template.params) or not all(
            isinstance(v, str) for v in values):
        return _error("InvalidParameterValue.TemplateParameterFormatError", "验证码模板参数格式错误或参数个数与模板不符。")
    phones = params.get("PhoneNumberSet")
    if not isinstance(phones, list) or not 1 <= len(phones) <= 200:
        return _error("InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumberSet 应含1至200个号码。")
    body = f"【{account.sign_name}】" + render_template(template, values)
    statuses = []
    with transaction.atomic():
        for phone in phones:
            if not isinstance(phone, str) or not PHONE.match(phone):
                statuses.append({"SerialNo": "", "PhoneNumber": str(phone), "Fee": 0, "SessionContext": "",
                                 "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误",
                                 "IsoCode": ""})
                continue
            local = phone[3:]
            serial = f"2433:{secrets.randbelow(10**28):028d}"
            failed = local.endswith(UNDELIVERABLE_SUFFIX)
            SmsMessage.objects.create(
                phone_hash=crypto.blind_index(local), phone_masked=masked_phone(local), sdk_app_id=account.sdk_app_id,
                sign_name=account.sign_name, template_id=str(params["TemplateId"]), params=values, body=body, serial_no=serial,
                session_context=str(params.get("SessionContext", ""))[:512],
                report_status="FAIL" if failed else "SUCCESS",
                report_description="空号或停机" if failed else "用户短信送达成功",
            )
            statuses.append({"SerialNo": serial, "PhoneNumber": phone, "Fee": 1 + len(body) // 70,
                             "SessionContext": str(params.get("SessionContext", "")), "Code": "Ok",
                             "Message": "send success", "IsoCode": "CN"})
    return _answer({"SendStatusSet": statuses})


def _pull(params: dict) -> JsonResponse:
    limit = params.get("Limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        return _error("InvalidParameterValue", "Limit 应为1至100的整数。")
    with transaction.atomic():
        messages = list(SmsMessage.objects.select_for_update(skip_locked=True).filter(report_pulled=False)
                        .order_by("id")[:limit])
        SmsMessage.objects.filter(pk__in=[m.pk for m in messages]).update(report_pulled=True)
    return _answer({"PullSmsSendStatusSet": [{
        "UserReceiveTime": int(m.sent_at.timestamp()), "CountryCode": "86", "SubscriberNumber": "",
        "PhoneNumber": "", "SerialNo": m.serial_no, "ReportStatus": m.report_status,
        "Description": m.report_description, "SessionContext": m.session_context,
    } for m in messages]})


def outbox(request):
    phone = request.GET.get("phone", "").strip()
    messages = SmsMessage.objects.all()
    if phone:
        messages = messages.to(phone)
    rows = [{"phone": phone or m.phone_masked, "body": m.body, "sent_at": m.sent_at,
             "report": m.report_description} for m in messages[:50]]
    return render(request, "simulators/sms_outbox.html", {"rows": rows, "phone": phone})
