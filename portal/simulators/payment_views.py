"""The payment simulator's pages: the cashier a payer sees, and the merchant API the ``http``
adapter calls (signed requests, JSON answers), mounted at ``/sim/pay/``."""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.simulators import payment as provider
from portal.simulators.models import SimPayment


def cashier(request, transaction_id):
    """The provider's cashier page: pay or cancel, then back to the merchant's return URL."""
    trade = get_object_or_404(SimPayment, transaction_id=transaction_id)
    error = None
    if request.method == "POST":
        if request.POST.get("action") == "pay":
            try:
                provider.pay(transaction_id=transaction_id)
            except provider.ProviderError as exc:
                error = exc.message
        if error is None and trade.return_url:
            return HttpResponseRedirect(trade.return_url)
        trade.refresh_from_db()
    return render(request, "simulators/cashier.html", {"trade": trade, "error": error},
                  status=422 if error else 200)


def _verified(request) -> dict:
    headers = request.headers
    timestamp = headers.get("X-Pay-Timestamp", "")
    expected = provider.sign(settings.PAYMENT_API_KEY, timestamp, headers.get("X-Pay-Nonce", ""), request.body)
    if not constant_time_compare(expected, headers.get("X-Pay-Signature", "")):
        raise provider.ProviderError("SIGN_ERROR", "签名错误")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        raise provider.ProviderError("SIGN_ERROR", "请求已过期")
    return json.loads(request.body)


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise provider.ProviderError("PARAM_ERROR", "金额格式错误") from None


@csrf_exempt
@require_POST
def api(request, action):
    merchant = settings.PAYMENT_MERCHANT_ID
    try:
        data = _verified(request)
        if action == "create":
            trade = provider.create(merchant_id=merchant, out_trade_no=data["out_trade_no"],
                                    amount=_amount(data["amount"]), description=data.get("description", ""),
                                    notify_url=data["notify_url"], return_url=data.get("return_url", ""),
                                    method=data.get("method", "online"), payer_hash=data.get("payer_hash", ""))
            answer = {**provider.trade_json(trade), "pay_url": request.build_absolute_uri(provider.cashier_url(trade))}
        elif action == "query":
            answer = provider.trade_json(provider.query(merchant_id=merchant, out_trade_no=data["out_trade_no"]))
        elif action == "close":
            answer = provider.trade_json(provider.close(merchant_id=merchant, out_trade_no=data["out_trade_no"]))
        elif action == "refund":
            refund = provider.refund(merchant_id=merchant, out_trade_no=data["out_trade_no"],
                                     out_refund_no=data["out_refund_no"], amount=_amount(data["amount"]))
            answer = {"refund_id": refund.refund_id, "amount": str(refund.amount), "state": refund.state}
        elif action == "agreement":
            agreement = provider.sign_agreement(merchant_id=merchant, contract_code=data["contract_code"],
                                                payer_hash=data["payer_hash"])
            answer = {"agreement_no": agreement.agreement_no}
        elif action == "agreement-terminate":
            provider.terminate_agreement(merchant_id=merchant, agreement_no=data["agreement_no"])
            answer = {"agreement_no": data["agreement_no"], "state": "TERMINATED"}
        elif action == "withhold":
            trade = provider.withhold(merchant_id=merchant, agreement_no=data["agreement_no"],
                                      out_trade_no=data["out_trade_no"], amount=_amount(data["amount"]),
                                      description=data.get("description", ""), notify_url=data["notify_url"])
            answer = provider.trade_json(trade)
        else:
            return JsonResponse({"code": "NOT_FOUND", "message": "未知接口"}, status=404)
    except provider.ProviderError as exc:
        status = 401 if exc.code == "SIGN_ERROR" else 400
        return JsonResponse({"code": exc.code, "message": exc.message}, status=status)
    except (KeyError, ValueError, TypeError):
        return JsonResponse({"code": "PARAM_ERROR", "message": "参数错误"}, status=400)
    return JsonResponse({"code": "SUCCESS", **answer})


urlpatterns = [
    path("api/v1/<slug:action>/", api, name="payment_api"),
    path("<str:transaction_id>/", cashier, name="cashier"),
]
