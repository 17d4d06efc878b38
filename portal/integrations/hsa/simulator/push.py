"""The simulated platform pushing to the insurer (the settlement feed, ``claims.platform_api``):
a request envelope signed with the platform's key, the answer verified with the insurer's."""

from __future__ import annotations

import requests
from django.conf import settings

from portal.integrations.hsa import envelope
from portal.integrations.hsa.simulator import keys

PATH = "/api/v1/hsa/callService"


def push(infno: str, input: dict, *, sender: str, private_key: str = "", tamper=None, timeout: float = 60) -> dict:
    """Send one transaction as the feed ``sender`` (its ``SettlementSource.key_id``); returns the
    answer (numbers as text) after checking the insurer's signature. ``tamper(message)`` may change
    the signed message before it is sent (tests)."""
    message = envelope.sign(envelope.request(infno, input, fixmedins_code=sender, fixmedins_name="医疗保障信息平台",
                                             opter_type="1", opter="HSA", opter_name="医保平台"),
                            private_key or keys.platform_private_key())
    if tamper is not None:
        message = tamper(message)
    response = requests.post(settings.PUBLIC_BASE_URL.rstrip("/") + PATH, data=envelope.dumps(message),
                             headers={"Content-Type": "application/json; charset=utf-8"}, timeout=timeout)
    response.raise_for_status()
    answer = envelope.loads(response.content)
    if not envelope.verified(answer, keys.insurer_public_key()):
        raise envelope.SignatureInvalid("the insurer's answer does not verify")
    return answer
