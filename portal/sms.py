"""``portal.sms.send(phone=..., template=..., **params)``: the SMS gateway, see
``portal.integrations.sms`` (Tencent Cloud SMS, approved templates listed in its ``templates.py``)."""

from portal.integrations.sms import SmsError, masked_phone, send, template_id

__all__ = ["SmsError", "masked_phone", "send", "template_id"]
