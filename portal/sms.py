"""The SMS adapter: ``send(phone=..., template=..., **params)``.

The backend is ``settings.SMS_BACKEND``:

- ``simulator``: the local SMS gateway simulator, which keeps what a phone would receive in
  ``portal.simulators.models.SmsMessage`` (readable at ``/sim/sms/`` in development).
- ``http``: the SMS gateway — ``POST {SMS_API_URL}/v1/sms/send`` with
  ``{"phone": "138...", "template": "login_code", "params": {...}, "text": "..."}``; headers
  ``X-App-Key``, ``X-Timestamp`` (Unix seconds), ``X-Nonce``, ``X-Signature`` = hex
  HMAC-SHA256(``SMS_APP_SECRET``, ``"{timestamp}\\n{nonce}\\n{body}"``). Answer
  ``{"code": "OK", "message_id": "..."}``; anything else raises ``SmsError``.

Nothing here logs a code or a full phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

TEMPLATES = {
    "login_code": "【惠民保】您的登录验证码为{code}，5分钟内有效，请勿泄露。",
    "policy_issued": "【惠民保】{name}的{product}保单已生效，保单号{policy}，可在“我的保单”查看电子保单。",
    "policy_gifted": "【惠民保】{payer}为{name}投保的{product}已生效，保单号{policy}。登录后可在“我的保单”查看电子保单。",
    "ticket_replied": "【惠民保】您的工单{number}有新的客服回复，请登录后在“客服与投诉”查看。",
    "payout_approved": "【惠民保】您的理赔已审核通过，赔付{amount}元，将支付至您的账户。",
}


class SmsError(Exception):
    """The gateway did not accept the message."""


def masked_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "***"


def send(*, phone: str, template: str, **params) -> str:
    """Send one templated SMS; returns the gateway's message id."""
    text = TEMPLATES[template].format(**params)
    if settings.SMS_BACKEND == "simulator":
        from portal.simulators.models import SmsMessage

        message_id = f"SIM{secrets.token_hex(10)}"
        SmsMessage.objects.create(phone=phone, template=template, body=text, message_id=message_id)
    elif settings.SMS_BACKEND == "http":
        message_id = _http(phone=phone, template=template, params=params, text=text)
    else:  # pragma: no cover - a settings mistake
        raise SmsError(f"unknown SMS_BACKEND {settings.SMS_BACKEND!r}")
    logger.info("sms %s sent to %s (%s)", template, masked_phone(phone), message_id)
    return message_id


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), b"\n".join([timestamp.encode(), nonce.encode(), body]), hashlib.sha256).hexdigest()


def _http(*, phone: str, template: str, params: dict, text: str) -> str:
    body = json.dumps({"phone": phone, "template": template, "params": params, "text": text},
                      ensure_ascii=False).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    request = urllib.request.Request(
        settings.SMS_API_URL.rstrip("/") + "/v1/sms/send",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Key": settings.SMS_APP_KEY,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature(settings.SMS_APP_SECRET, timestamp, nonce, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise SmsError(f"gateway unreachable: {type(exc).__name__}") from exc
    if answer.get("code") != "OK" or not answer.get("message_id"):
        raise SmsError(f"gateway refused: {answer.get('code')}")
    return str(answer["message_id"])
