"""Paying an order: start, the providers' notifications, the return page that polls, cancelling."""

from __future__ import annotations

import time

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from enrollment import billing, selectors
from enrollment.models import Order, Payment, Policy
from enrollment.views.csp import payment_forms
from enrollment.views.purchase import resident_required
from portal.integrations import payments
from portal.shortcuts import get_object_or_404

# The return page polls every 2 s. A payer who came back without paying (cancelled on the cashier)
# is told so once the provider has said "not paid" for this long; after a minute of no answer the
# page stops polling and offers 刷新 and 返回订单.
UNPAID_AFTER_SECONDS = 6
GIVE_UP_AFTER_SECONDS = 60


def _own_order(request, number) -> Order:
    """A resident's own order (bought with his own money): organizations' and donors' orders are
    paid and read on their list's page."""
    return get_object_or_404(Order.objects.select_related("version__program"), number=number,
                             resident=request.resident, organization__isnull=True, campaign__isnull=True)


@csrf_exempt
@require_POST
def pay_notify(request, provider):
    """A provider's signed asynchronous notification, answered in that provider's own words."""
    if provider not in payments.CHANNELS:
        raise Http404
    handled = billing.notification_handle(provider=provider, headers=request.headers, body=request.body)
    status, content_type, body = billing.adapter(provider).answer(handled.accepted, handled.status)
    response = HttpResponse(body, status=status)
    if content_type:
        response["Content-Type"] = content_type
    else:
        del response["Content-Type"]
    return response


@payment_forms
@resident_required
@require_POST
def order_pay(request, number):
    order = _own_order(request, number)
    try:
        payment = billing.payment_start(
            order=order,
            method=request.POST.get("method", ""),
            channel=request.POST.get("channel", "wechatpay"),
            return_url=request.build_absolute_uri(reverse("enrollment:order_return", args=[order.number])),
            client_ip=request.META.get("REMOTE_ADDR", ""),
            consent=request.POST.get("personal_account_consent") == "1",
        )
    except billing.PaymentRefused as refused:
        order.refresh_from_db()
        return render(request, "enrollment/purchase/order.html", {"order": order, "pay_error": refused.message},
                      status=422)
    return redirect(payment.pay_url)


def _outcome(order: Order, refreshed: str, elapsed: float) -> str:
    """What the payer is told: paid, failed, cancelled (came back unpaid), expired, closed, slow, pending."""
    if order.status == Order.PAID:
        return "paid"
    if order.status == Order.EXPIRED:
        return "expired"
    if order.status != Order.PENDING:
        return "closed"
    if refreshed == "failed":
        return "failed"
    latest = order.payments.exclude(provider="bank").order_by("-created_at").first()
    if latest is not None and latest.status == Payment.FAILED:
        return "failed"
    if refreshed in ("pending", "closed", "none") and elapsed >= UNPAID_AFTER_SECONDS:
        return "unpaid"
    if elapsed >= GIVE_UP_AFTER_SECONDS:
        return "slow"
    return "pending"


def _status_context(request, order: Order) -> dict:
    try:
        since = float(request.GET.get("since", ""))
    except ValueError:
        since = time.time()
    since = min(since, time.time())
    refreshed = "none"
    if order.status == Order.PENDING:
        refreshed = billing.order_refresh(order=order)
        order.refresh_from_db()
    outcome = _outcome(order, refreshed, time.time() - since)
    latest = order.payments.exclude(provider="bank").order_by("-created_at").first()
    return {"order": order, "outcome": outcome, "since": int(since), "note": latest.note if latest else "",
            "channels": [(name, payments.LABELS[name]) for name in payments.CHANNELS]}


@payment_forms
@resident_required
def order_return(request, number):
    """Back from the provider (paid, cancelled or failed): every outcome within seconds."""
    order = _own_order(request, number)
    return render(request, "enrollment/payment/return.html", _status_context(request, order))


@payment_forms
@resident_required
def order_status(request, number):
    """htmx poll: asks the provider while the order is pending, so a lost notification never
    leaves a paid resident waiting, and a payer who cancelled is told so."""
    order = _own_order(request, number)
    return render(request, "enrollment/payment/return.html#order-status", _status_context(request, order))


@resident_required
def policy_cancel(request, number):
    policy = Policy.objects.select_related("order", "person", "version__program").filter(
        selectors.paid_by(request.resident), number=number
    ).first()
    if policy is None:
        raise Http404
    context = {"policy": policy}
    if request.method == "POST":
        try:
            billing.policy_cancel(policy=policy, resident=request.resident)
        except billing.PaymentRefused as refused:
            context["error"] = refused.message
            return render(request, "enrollment/payment/cancel.html", context, status=422)
        return redirect("enrollment:policy_detail", number=policy.number)
    return render(request, "enrollment/payment/cancel.html", context)


urlpatterns = [
    path("pay/notify/<slug:provider>/", pay_notify, name="pay_notify"),
    path("orders/<str:number>/pay/", order_pay, name="order_pay"),
    path("orders/<str:number>/return/", order_return, name="order_return"),
    path("orders/<str:number>/status/", order_status, name="order_status"),
    path("policies/<str:number>/cancel/", policy_cancel, name="policy_cancel"),
]
