"""Paying an order: start, the provider's notification, the return page that polls, cancelling."""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from enrollment import billing, selectors
from enrollment.models import Order, Policy
from enrollment.views.purchase import resident_required


def _own_order(request, number) -> Order:
    """A resident's own order (bought with his own money): organizations' and donors' orders are
    paid and read on their list's page."""
    return get_object_or_404(Order.objects.select_related("version__program"), number=number,
                             resident=request.resident, organization__isnull=True, campaign__isnull=True)


@csrf_exempt
@require_POST
def pay_notify(request, provider):
    """The provider's signed asynchronous notification."""
    status, outcome = billing.notification_handle(provider=provider, headers=request.headers, body=request.body)
    if status == 200:
        return JsonResponse({"code": "SUCCESS"})
    return JsonResponse({"code": "FAIL", "message": outcome}, status=status)


@resident_required
@require_POST
def order_pay(request, number):
    order = _own_order(request, number)
    try:
        payment = billing.payment_start(
            order=order,
            method=request.POST.get("method", ""),
            return_url=request.build_absolute_uri(reverse("enrollment:order_return", args=[order.number])),
        )
    except billing.PaymentRefused as refused:
        return render(request, "enrollment/purchase/order.html", {"order": order, "pay_error": refused.message},
                      status=422)
    return redirect(payment.pay_url)


@resident_required
def order_return(request, number):
    """Back from the provider: shows the order's state, polling until it is paid."""
    order = _own_order(request, number)
    return render(request, "enrollment/payment/return.html", {"order": order})


@resident_required
def order_status(request, number):
    """htmx poll: asks the provider while the order is pending, so a lost notification never
    leaves a paid resident waiting."""
    order = _own_order(request, number)
    if order.status == Order.PENDING:
        billing.order_refresh(order=order)
        order.refresh_from_db()
    return render(request, "enrollment/payment/return.html#order-status", {"order": order})


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
