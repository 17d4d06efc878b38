"""The window calls in the 医疗保障信息平台's own envelope (``portal.integrations.hsa.envelope``):
one service address, ``POST /api/v1/hsa/window``, the call named by ``infno`` as the platform's
定点医药机构接口 names the hospital's own transactions:

=========  ==========================================  ==============================================
``infno``  call                                        ``input``
``2303``   预结算 (``claims.services.window_quote``)     ``{"data": <settlement record>}``
``2304``   结算 (``window_settle``)                      ``{"data": <settlement record>}``
``2305``   结算撤销 (``window_reverse``)                 ``{"data": {"setl_id": "<settlement_id>"}}``
``3201``   对总账 / 对明细账 (``window_reconcile``)        ``{"data": {"hospital_code", "day", "totals", "detail"}}``
=========  ==========================================  ==============================================

The platform signs with its SM2 key (verified with ``HSA_PLATFORM_PUBLIC_KEY``); ``inf_time`` must
be within 5 minutes and each ``msgid`` is accepted once (kept in Redis for 10 minutes): a replay is
refused. The sending platform is the settlement source whose key id is ``HSA-<mdtrtarea_admvs>``
(结算数据来源 in the admin). Every answer is signed with the insurer's key (``HSA_PRIVATE_KEY``),
HTTP 200 as the platform answers: ``infcode`` 0 with the call's answer in ``output``, or ``infcode``
-1 with ``err_msg`` naming the field and ``output.errors`` (``field``, ``code``, ``message``), the same
stable codes as the JSON API.
"""

from __future__ import annotations

import json

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from claims.models import SettlementSource
from portal.integrations.hsa import conf, envelope

NONCE_SECONDS = 600
REFMSGID_CODE = "HMBWINDOW000"


def _reply(*, output=None, errors=None, received_at=None) -> HttpResponse:
    if errors:
        body = envelope.answer(conf.private_key(), infcode=envelope.FAILURE, refmsgid_code=REFMSGID_CODE,
                               err_msg="；".join(e["message"] for e in errors), output={"errors": errors},
                               received_at=received_at)
    else:
        body = envelope.answer(conf.private_key(), output=output, refmsgid_code=REFMSGID_CODE,
                               received_at=received_at)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _error(field: str, code: str, message: str) -> list[dict]:
    return [{"field": field, "code": code, "message": message}]


def _dispatch(source, infno: str, data):
    from claims.services.clearing import window_reconcile
    from claims.services.window import window_quote, window_reverse, window_settle

    if infno == "2303":
        return window_quote(source=source, record=data)
    if infno == "2304":
        return window_settle(source=source, record=data)
    if infno == "2305":
        setl_id = data.get("setl_id") if isinstance(data, dict) else None
        if not isinstance(setl_id, str) or not setl_id:
            return _error("input.data.setl_id", "required", "setl_id（结算单号）：缺少此字段")
        return window_reverse(source=source, settlement_id=setl_id)
    return window_reconcile(source=source, payload=data)


@csrf_exempt
def service(request):
    from claims.services.window import WindowRefused

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    received = envelope.now()
    try:
        message = envelope.receive(request.body, conf.platform_public_key(), at=received)
    except envelope.EnvelopeInvalid as exc:
        return _reply(errors=_error("envelope", "envelope_invalid", exc.err_msg), received_at=received)
    infno = str(message["infno"])
    if infno not in ("2303", "2304", "2305", "3201"):
        return _reply(errors=_error("infno", "unknown_infno", f"infno：交易编号{infno}不存在"), received_at=received)
    area = str(message["mdtrtarea_admvs"])
    source = SettlementSource.objects.filter(key_id=f"HSA-{area}", active=True).first()
    if source is None:
        return _reply(errors=_error("mdtrtarea_admvs", "unknown_area",
                                    f"mdtrtarea_admvs：未登记医保区划{area}的结算平台"), received_at=received)
    if not cache.add(f"hsa-window-msgid:{area}:{message['msgid']}", 1, timeout=NONCE_SECONDS):
        return _reply(errors=_error("msgid", "msgid_reused", "msgid：该报文ID已使用，请求被视为重放"),
                      received_at=received)
    # Verified on the wire text (numbers kept as text); the call reads the input as JSON proper.
    data = json.loads(request.body)["input"].get("data")
    try:
        output = _dispatch(source, infno, data)
    except WindowRefused as refused:
        return _reply(errors=refused.as_json()["errors"], received_at=received)
    if isinstance(output, list):  # a field error found here
        return _reply(errors=output, received_at=received)
    return _reply(output=output, received_at=received)
