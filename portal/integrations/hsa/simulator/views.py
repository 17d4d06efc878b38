"""The simulated platform's single service address: verify the envelope, dispatch on ``infno``,
answer signed. Every refusal is an answer with ``infcode`` -1 and a message naming the field, as
the platform answers (HTTP 200); only a body that is not a POST is refused at the HTTP level."""

from __future__ import annotations

import logging

from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from portal.integrations.hsa import envelope
from portal.integrations.hsa.simulator import keys, transactions

logger = logging.getLogger(__name__)
REFMSGID_CODE = "HSASIMULATOR"


def _reply(**fields) -> HttpResponse:
    body = envelope.answer(keys.platform_private_key(), refmsgid_code=REFMSGID_CODE, **fields)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@csrf_exempt
def call_service(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    received = envelope.now()
    try:
        message = envelope.receive(request.body, keys.insurer_public_key(), at=received)
    except envelope.EnvelopeInvalid as exc:
        return _reply(infcode=envelope.FAILURE, err_msg=exc.err_msg, received_at=received)
    handler = transactions.HANDLERS.get(str(message["infno"]))
    if handler is None:
        return _reply(infcode=envelope.FAILURE, err_msg=f"infno：交易编号{message['infno']}不存在", received_at=received)
    try:
        output = handler(message["input"], message)
    except transactions.Refused as exc:
        return _reply(infcode=envelope.FAILURE, err_msg=exc.err_msg, received_at=received)
    return _reply(output=output, received_at=received)
