"""The pages a payer sees on the simulated providers: the cashier (pay, cancel, or a balance that
is short) and the withholding contract's signing page. Each ends by sending the browser back to
the merchant the way the provider does: WeChat Pay to the ``redirect_url`` the merchant appended
to ``h5_url``; Alipay to ``return_url`` with signed parameters after paying, or to ``quit_url``
when the payer leaves."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from portal.integrations.payments.simulator import provider
from portal.integrations.payments.simulator.models import Channel, SimContract, SimTrade
from portal.shortcuts import get_object_or_404


def _any_merchant(view):
    """A provider's page sends the payer back to whichever merchant: no form-action limit (the
    project's CSP would otherwise hold the simulator's forms to its own origin)."""
    from functools import wraps

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response._csp_replace = {"form-action": None}
        return response

    return wrapper


def _back(trade: SimTrade, *, paid: bool) -> str:
    if trade.channel == Channel.ALIPAY:
        if not paid:
            return trade.quit_url or trade.return_url
        params = {"app_id": trade.merchant, "method": "alipay.trade.wap.pay.return", "charset": "utf-8",
                  "sign_type": "RSA2", "version": "1.0", "timestamp": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
                  "out_trade_no": trade.out_trade_no, "trade_no": trade.transaction_id, "total_amount": trade.yuan,
                  "seller_id": "2088101117955611", "auth_app_id": trade.merchant}
        params["sign"] = provider.alipay_sign(params)
        joiner = "&" if "?" in trade.return_url else "?"
        return f"{trade.return_url}{joiner}{urlencode(params)}" if trade.return_url else ""
    return trade.return_url


@_any_merchant
@require_http_methods(["GET", "POST"])
def cashier(request, transaction_id):
    trade = get_object_or_404(SimTrade, transaction_id=transaction_id)
    redirect_url = request.GET.get("redirect_url")
    if redirect_url and trade.channel == Channel.WECHATPAY and redirect_url != trade.return_url:
        SimTrade.objects.filter(pk=trade.pk).update(return_url=redirect_url)
        trade.return_url = redirect_url
    trade = provider.refresh_expiry(trade)
    error, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "pay":
                trade = provider.trade_pay(transaction_id=transaction_id)
                back = _back(trade, paid=True)
            elif action == "insufficient":
                trade = provider.trade_refuse_for_balance(transaction_id=transaction_id)
                if trade.channel == Channel.WECHATPAY:
                    back = _back(trade, paid=False)
                else:
                    raise provider.ProviderError("NOT_ENOUGH", "余额不足，请更换付款方式")
            else:
                back = _back(trade, paid=False)
            if back:
                return HttpResponseRedirect(back)
        except provider.ProviderError as exc:
            error, status = exc.message, 422
        trade.refresh_from_db()
    return render(request, "payments_simulator/cashier.html", {"trade": trade, "error": error,
                                                               "back": _back(trade, paid=False)}, status=status)


@_any_merchant
@require_http_methods(["GET", "POST"])
def contract_sign(request, contract_id):
    contract = get_object_or_404(SimContract, contract_id=contract_id)
    if request.method == "POST":
        if request.POST.get("action") == "sign":
            contract = provider.contract_sign(contract_id=contract_id)
        if contract.return_url:
            return HttpResponseRedirect(contract.return_url)
    return render(request, "payments_simulator/contract.html", {"contract": contract})
