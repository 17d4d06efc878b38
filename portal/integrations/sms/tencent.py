"""The Tencent Cloud SMS client (API 2021-01-11) through ``tencentcloud-sdk-python-sms``.

``SendSms`` with ``PhoneNumberSet`` (E.164, ``+86…``), ``SmsSdkAppId``, ``SignName``, ``TemplateId``
and ``TemplateParamSet``; ``PullSmsSendStatus`` for delivery receipts. The SDK signs every request
with TC3-HMAC-SHA256 (``tc3.py`` writes the same algorithm out for the simulator's check). The
endpoint and scheme come from settings (``HttpProfile``): ``sms.tencentcloudapi.com`` over HTTPS in
production, the SMS simulator over HTTP elsewhere; this module is the same code path for both.
"""

from __future__ import annotations

import json

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from portal.integrations.sms.conf import SmsConf

OK = "Ok"
NETWORK_ERROR = "ClientNetworkError"


class GatewayError(Exception):
    """Tencent refused the request (``code`` is Tencent's error code) or could not be reached."""

    def __init__(self, code: str, message: str = "", request_id: str = ""):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.request_id = code, message, request_id


def client(conf: SmsConf) -> sms_client.SmsClient:
    http = HttpProfile(endpoint=conf.endpoint, protocol=conf.scheme, reqMethod="POST", reqTimeout=conf.timeout)
    profile = ClientProfile(httpProfile=http, signMethod="TC3-HMAC-SHA256")
    return sms_client.SmsClient(credential.Credential(conf.secret_id, conf.secret_key), conf.region, profile)


def _call(method: str, request):
    try:
        return method(request)
    except TencentCloudSDKException as exc:
        raise GatewayError(exc.get_code() or NETWORK_ERROR, exc.get_message() or "", exc.get_request_id() or "") from exc
    except (ValueError, KeyError, TypeError) as exc:  # an answer that is not Tencent's JSON
        raise GatewayError("InvalidResponse", type(exc).__name__) from exc


def send_sms(conf: SmsConf, *, phone: str, template_id: str, params: list[str], session_context: str = "") -> dict:
    """One message to one mainland number; returns its ``SendStatus`` (``Code``, ``SerialNo``, …)."""
    request = models.SendSmsRequest()
    request.from_json_string(json.dumps({
        "PhoneNumberSet": [f"+86{phone}"],
        "SmsSdkAppId": conf.sdk_app_id,
        "SignName": conf.sign_name,
        "TemplateId": template_id,
        "TemplateParamSet": params,
        "SessionContext": session_context,
    }))
    answer = _call(client(conf).SendSms, request)
    statuses = answer.SendStatusSet or []
    if len(statuses) != 1:
        raise GatewayError("InvalidResponse", "SendStatusSet", answer.RequestId or "")
    status = statuses[0]
    return {"Code": status.Code, "Message": status.Message, "SerialNo": status.SerialNo,
            "PhoneNumber": status.PhoneNumber, "Fee": status.Fee, "RequestId": answer.RequestId}


def pull_send_status(conf: SmsConf, *, limit: int = 100) -> list[dict]:
    """Delivery receipts not pulled before (Tencent hands each out once)."""
    request = models.PullSmsSendStatusRequest()
    request.from_json_string(json.dumps({"SmsSdkAppId": conf.sdk_app_id, "Limit": limit}))
    answer = _call(client(conf).PullSmsSendStatus, request)
    return [json.loads(item.to_json_string()) for item in answer.PullSmsSendStatusSet or []]
