"""The settlement feed in the 医疗保障信息平台's own envelope: ``POST /api/v1/hsa/callService``.

The platform pushes to the insurer the way institutions call the platform: one service address, a
request envelope signed with the platform's SM2 key (verified with ``HSA_PLATFORM_PUBLIC_KEY``),
the sending feed named by ``fixmedins_code`` (a ``SettlementSource`` of kind ``feed`` whose key id
is that code), and an answer envelope signed with the insurer's key. Every refusal is an answer
with ``infcode`` -1 and a message naming the field (HTTP 200), as the platform answers.

- ``C301`` 结算信息推送 (the bureau's extension for commercial insurers): ``input`` is
  ``{"setlinfo": [record, ...]}`` (at most 1,000), each record the platform's ``setlinfo`` fields plus
  ``diseinfo`` (``claims.rules.setlinfo``, the one mapping). ``output`` is ``{"counts": {...},
  "results": [{"index", "setl_id", "status", "errors": [{"field", "code", "message"}]}]}`` — the
  same per-record outcome as ``/api/v1/settlements`` (accepted / conflict / refused), fields named
  as the platform names them.
- ``2208`` 结算撤销: ``input`` ``{"data": {"setl_id", "mdtrt_id", "psn_no"}}`` → the settlement stops
  counting (its policy year is recomputed; money paid is taken back by an adjustment); ``output``
  ``{"setl_id", "status": "accepted"}``. Unknown ``setl_id`` → ``infcode`` -1.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from claims import services
from claims.models import SettlementSource
from claims.rules import setlinfo
from claims.rules.records import FieldError, RecordInvalid
from portal.integrations.hsa import conf, envelope

MAX_RECORDS = 1000
PUSH, REVERSAL = "C301", "2208"


class _Refused(Exception):
    def __init__(self, err_msg: str):
        self.err_msg = err_msg


def _push(source: SettlementSource, input: dict) -> dict:
    items = input.get("setlinfo")
    if not isinstance(items, list) or not items:
        raise _Refused("input.setlinfo：应为非空的结算信息数组")
    if len(items) > MAX_RECORDS:
        raise _Refused(f"input.setlinfo：每次最多{MAX_RECORDS}条，当前{len(items)}条")
    results: list[dict | None] = [None] * len(items)
    mapped: dict[int, dict] = {}
    for index, item in enumerate(items):
        setl_id = item.get("setl_id") if isinstance(item, dict) else None
        try:
            mapped[index] = setlinfo.to_record(item)
        except RecordInvalid as exc:
            results[index] = _result(index, setl_id, services.REFUSED, exc.errors)
    order = sorted(mapped)
    receipts = services.settlements_receive(source=source, records=[mapped[i] for i in order]) if order else []
    for index, receipt in zip(order, receipts, strict=True):
        errors = [FieldError(setlinfo.field_of(e.field), e.code, e.message) for e in receipt.errors]
        results[index] = _result(index, receipt.settlement_id, receipt.status, errors)
    counts = {status: sum(1 for r in results if r["status"] == status)
              for status in (services.ACCEPTED_STATUS, services.CONFLICT, services.REFUSED)}
    return {"counts": counts, "results": results}


def _result(index: int, setl_id, status: str, errors: list[FieldError]) -> dict:
    return {"index": index, "setl_id": setl_id if isinstance(setl_id, str) else None, "status": status,
            "errors": [{"field": e.field, "code": e.code, "message": e.message} for e in errors]}


def _reversal(source: SettlementSource, input: dict) -> dict:
    data = input.get("data")
    setl_id = data.get("setl_id") if isinstance(data, dict) else None
    if not isinstance(setl_id, str) or not setl_id.strip():
        raise _Refused("input.data.setl_id：结算ID不能为空")
    receipt = services.settlement_reverse(source=source, settlement_id=setl_id.strip())
    if receipt.status == services.REFUSED:
        raise _Refused(f"setl_id：未找到结算“{setl_id}”")
    return {"setl_id": setl_id, "status": receipt.status}


HANDLERS = {PUSH: _push, REVERSAL: _reversal}


def _reply(**fields) -> HttpResponse:
    body = envelope.answer(conf.private_key(), refmsgid_code=conf.fixmedins_code(), **fields)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@csrf_exempt
def call_service(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    received = envelope.now()
    try:
        message = envelope.receive(request.body, conf.platform_public_key(), at=received)
    except envelope.EnvelopeInvalid as exc:
        return _reply(infcode=envelope.FAILURE, err_msg=exc.err_msg, received_at=received)
    source = SettlementSource.objects.filter(key_id=str(message["fixmedins_code"]), kind=SettlementSource.FEED,
                                             active=True).select_related("program").first()
    if source is None:
        return _reply(infcode=envelope.FAILURE, err_msg="fixmedins_code：未登记或已停用的结算数据来源", received_at=received)
    handler = HANDLERS.get(str(message["infno"]))
    if handler is None:
        return _reply(infcode=envelope.FAILURE, err_msg=f"infno：交易编号{message['infno']}不存在", received_at=received)
    try:
        output = handler(source, message["input"])
    except _Refused as exc:
        return _reply(infcode=envelope.FAILURE, err_msg=exc.err_msg, received_at=received)
    return _reply(output=output, received_at=received)
