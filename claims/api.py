"""The settlement intake API: ``POST /api/v1/settlements`` and ``.../<settlement_id>/reversal``.

Each sending system signs every request with its own secret:

    X-Key-Id:    the source's key id
    X-Timestamp: Unix seconds (refused outside ±5 minutes)
    X-Nonce:     a random string, accepted once (kept in Redis for 10 minutes)
    X-Signature: hex HMAC-SHA256(secret, "{METHOD}\\n{path}\\n{timestamp}\\n{nonce}\\n{body}")

The window settlement calls (``window/quote``, ``window/settlements``, ``window/settlements/<id>/reversal``)
are signed the same way; their body is ``{"record": record}`` and a refusal answers its status with
``{"errors": [{"field", "code", "message"}]}`` (see ``claims.openapi``).

Body: ``{"records": [record, ...]}`` with at most 1,000 records in the shape of
settlement-record.md. The answer reports every record by its position: ``accepted`` (also for the
same record sent again), ``conflict`` (same settlement_id, different content: never overwritten) or
``refused`` with each error's field, code and Chinese message. Good records of a batch are kept
even when others are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.core.cache import cache
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from claims import api_hsa, platform_api, services
from claims.models import SettlementSource
from portal import crypto

MAX_RECORDS = 1000
WINDOW_SECONDS = 300
NONCE_SECONDS = 600


def signature(secret: str, method: str, path_: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join([method, path_, timestamp, nonce]).encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _authenticate(request) -> SettlementSource | JsonResponse:
    key_id = request.headers.get("X-Key-Id", "")
    timestamp = request.headers.get("X-Timestamp", "")
    nonce = request.headers.get("X-Nonce", "")
    given = request.headers.get("X-Signature", "")
    source = SettlementSource.objects.filter(key_id=key_id, active=True).first() if key_id else None
    if source is None or not source.secret_cipher:
        return _error(401, "unknown_key", "X-Key-Id：未知或已停用的接入密钥")
    expected = signature(crypto.decrypt(source.secret_cipher), request.method, request.path, timestamp, nonce,
                         request.body)
    if not hmac.compare_digest(expected, given):
        return _error(401, "bad_signature", "X-Signature：签名校验失败")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        return _error(401, "stale_request", "X-Timestamp：请求时间超出5分钟有效期")
    if not nonce or len(nonce) > 64 or not cache.add(f"intake-nonce:{key_id}:{nonce}", 1, timeout=NONCE_SECONDS):
        return _error(401, "nonce_reused", "X-Nonce：该随机数已使用，请求被视为重放")
    return source


MAX_DEPTH = 8  # a record nests three levels (records → record → amounts); anything deeper is not one


def _string_problem(value: str) -> tuple[str, str] | None:
    if "\x00" in value:
        return "nul_character", "请求体的字符串中含有空字符（\\u0000）"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape (\\ud800): not text
        return "invalid_unicode", "请求体的字符串中含有无效的 Unicode 字符"
    return None


def _shape_problem(payload) -> tuple[str, str] | None:
    """JSON that no settlement record could be: nested deeper than ``MAX_DEPTH``, or a string (key
    or value) with a NUL character, which PostgreSQL cannot store. Walked without recursion."""
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "too_deep", f"请求体嵌套层级过深（最多{MAX_DEPTH}层）"
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                return problem
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    return problem
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


@csrf_exempt
@require_POST
def settlements(request):
    source = _authenticate(request)
    if isinstance(source, JsonResponse):
        return source
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _error(400, "invalid_json", "请求体不是有效的 JSON")
    problem = _shape_problem(payload)
    if problem:
        return _error(400, *problem)
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not records:
        return _error(400, "records_required", "records：应为非空的结算单数组")
    if len(records) > MAX_RECORDS:
        return _error(413, "too_many_records", f"records：每批最多{MAX_RECORDS}条，当前{len(records)}条")
    receipts = services.settlements_receive(source=source, records=records)
    results = [receipt.as_json(index) for index, receipt in enumerate(receipts)]
    counts = {status: sum(1 for r in results if r["status"] == status)
              for status in ("accepted", "conflict", "refused")}
    return JsonResponse({"counts": counts, "results": results})


@csrf_exempt
@require_POST
def reversal(request, settlement_id):
    source = _authenticate(request)
    if isinstance(source, JsonResponse):
        return source
    receipt = services.settlement_reverse(source=source, settlement_id=settlement_id)
    status = 404 if receipt.status == services.REFUSED else 200
    return JsonResponse(receipt.as_json(0), status=status)


# --- Settling at the hospital window (claims.services.window) ------------------------------------


def _window_body(request) -> dict | JsonResponse:
    if not request.body:
        return {}
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_json", "请求体不是有效的 JSON")
    if not isinstance(payload, dict):
        return _error(400, "invalid_json", "请求体应为 JSON 对象")
    return payload


def _window_call(request, call):
    """Authenticate, read the body, run ``call(source, payload)``: its answer is 200, a refusal its
    status with every error's field, code and Chinese message (nothing written)."""
    from claims.services.window import WindowRefused

    source = _authenticate(request)
    if isinstance(source, JsonResponse):
        return source
    payload = _window_body(request)
    if isinstance(payload, JsonResponse):
        return payload
    try:
        return JsonResponse(call(source, payload), json_dumps_params={"ensure_ascii": False})
    except WindowRefused as refused:
        return JsonResponse(refused.as_json(), status=refused.status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def window_quote(request):
    from claims.services.window import window_quote as quote

    return _window_call(request, lambda source, payload: quote(source=source, record=payload.get("record")))


@csrf_exempt
@require_POST
def window_settle(request):
    from claims.services.window import window_settle as settle

    return _window_call(request, lambda source, payload: settle(source=source, record=payload.get("record")))


@csrf_exempt
@require_POST
def window_reversal(request, settlement_id):
    from claims.services.window import window_reverse

    return _window_call(request, lambda source, payload: window_reverse(source=source, settlement_id=settlement_id))


@csrf_exempt
@require_POST
def window_reconciliation(request):
    from claims.services.clearing import window_reconcile

    return _window_call(request, lambda source, payload: window_reconcile(source=source, payload=payload))


def openapi(request):
    from django.conf import settings

    from claims.openapi import document

    return JsonResponse(document(settings.PUBLIC_BASE_URL), json_dumps_params={"ensure_ascii": False, "indent": 2})


urlpatterns = [
    path("openapi.json", openapi, name="openapi"),
    path("hsa/callService", platform_api.call_service, name="hsa_call_service"),
    path("settlements", settlements, name="settlements"),
    path("settlements/<str:settlement_id>/reversal", reversal, name="settlement_reversal"),
    path("window/quote", window_quote, name="window_quote"),
    path("window/settlements", window_settle, name="window_settle"),
    path("window/settlements/<str:settlement_id>/reversal", window_reversal, name="window_reversal"),
    path("window/reconciliation", window_reconciliation, name="window_reconciliation"),
    path("hsa/window", api_hsa.service, name="window_hsa"),
]
