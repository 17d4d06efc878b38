"""The SMS gateway (Tencent Cloud SMS): ``send(phone=..., template=..., **params)`` and
``receipts_pull()``.

``template`` names one of the approved templates in ``templates.py``; ``params`` fill its variables
in the order listed there. Nothing else can be sent: there is no free text. Every message is
recorded in ``SmsDispatch`` (phone masked and blind-indexed) with the gateway's serial number, and
the delivery receipts pulled from the gateway complete that record. Nothing here logs a code or a
full phone number.

A refused or unreachable gateway raises ``SmsError`` with Tencent's error code (``code``). A send is
never retried here: Tencent has no idempotency key for ``SendSms``, so a retry after a timeout could
send the message twice; the caller decides (a sign-in code is simply asked for again).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The gateway did not accept the message; ``code`` is the gateway's error code."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message = code, message


def masked_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "***"


def template_id(name: str) -> str:
    from portal.integrations.sms import conf

    return conf.template_ids()[name]


def send(*, phone: str, template: str, **params) -> str:
    """Send one approved template to one mainland mobile number; returns the gateway's serial number."""
    from portal import crypto
    from portal.integrations.sms import conf, tencent
    from portal.integrations.sms.models import SmsDispatch
    from portal.integrations.sms.templates import TEMPLATES

    spec = TEMPLATES[template]
    unexpected = set(params) - set(spec.params)
    if unexpected:
        raise ValueError(f"template {template} has no parameter {sorted(unexpected)}")
    values = [str(params[name]) for name in spec.params]
    settings_ = conf.sms()
    template_id_ = settings_.template_ids[template]
    record = SmsDispatch(template=template, template_id=template_id_, phone_hash=crypto.blind_index(phone),
                         phone_masked=masked_phone(phone))
    try:
        status = tencent.send_sms(settings_, phone=phone, template_id=template_id_, params=values,
                                  session_context=template)
    except tencent.GatewayError as exc:
        record.status, record.code = SmsDispatch.REFUSED, exc.code
        record.save()
        logger.warning("sms %s to %s refused: %s", template, record.phone_masked, exc.code)
        raise SmsError(exc.code, exc.message) from exc
    if status["Code"] != tencent.OK:
        record.status, record.code = SmsDispatch.REFUSED, status["Code"]
        record.save()
        logger.warning("sms %s to %s refused: %s", template, record.phone_masked, status["Code"])
        raise SmsError(status["Code"], status["Message"] or "")
    record.serial_no, record.code = status["SerialNo"], status["Code"]
    record.save()
    logger.info("sms %s sent to %s (%s)", template, record.phone_masked, record.serial_no)
    return record.serial_no


def receipts_pull(*, limit: int = 100) -> int:
    """Pull the gateway's delivery receipts and record them; returns how many matched a message."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from portal.integrations.sms import conf, tencent
    from portal.integrations.sms.models import SmsDispatch

    try:
        receipts = tencent.pull_send_status(conf.sms(), limit=limit)
    except tencent.GatewayError as exc:
        logger.warning("sms receipts not pulled: %s", exc.code)
        raise SmsError(exc.code, exc.message) from exc
    recorded = 0
    for item in receipts:
        received = item.get("UserReceiveTime")
        delivered = item.get("ReportStatus") == "SUCCESS"
        recorded += SmsDispatch.objects.filter(serial_no=item.get("SerialNo")).update(
            status=SmsDispatch.DELIVERED if delivered else SmsDispatch.FAILED,
            report_status=str(item.get("ReportStatus", ""))[:10],
            report_description=str(item.get("Description", ""))[:200],
            delivered_at=datetime.fromtimestamp(received, UTC) if isinstance(received, int) and delivered else None,
            reported_at=timezone.now(),
        )
    return recorded
