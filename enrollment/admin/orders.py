"""Orders, policies, payments, refunds, provider notifications, renewal authorizations (view-only)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from enrollment.admin.common import MobileSearch, ViewOnlyAdmin, export_actions
from enrollment.models import (
    Order,
    Payment,
    PaymentNotification,
    Person,
    Policy,
    Refund,
)
from portal.shortcuts import get_object_or_404


class BankTransferForm(forms.Form):
    reference = forms.CharField(label="银行流水号", max_length=64)
    amount = forms.DecimalField(label="到账金额（元）", max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    received_on = forms.DateField(label="到账日期", required=False,
                                  help_text="银行回单上的到账日期（留空为今天）；保障自其次日起，不早于保障开始日期",
                                  widget=forms.DateInput(attrs={"type": "date"}))


class PolicyInline(admin.TabularInline):
    model = Policy
    fields = ["number", "person", "plan", "relation", "premium", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ["out_trade_no", "provider", "method", "amount", "status", "transaction_id", "succeeded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(MobileSearch, ViewOnlyAdmin):
    list_display = ["number", "version", "channel", "organization", "method", "amount", "status", "created_at",
                    "paid_at"]
    list_filter = ["status", "channel", "method", "version", "campaign"]
    search_fields = ["number", "policies__person__id_masked", "organization__name"]  # a full mobile: MobileSearch
    readonly_fields = ["bank_transfer"]
    inlines = [PolicyInline, PaymentInline]
    actions = export_actions([
        ("订单号", "number"), ("产品", "version"), ("渠道", "get_channel_display"), ("投保单位", "organization"),
        ("活动", "campaign"), ("支付方式", "get_method_display"), ("金额", "amount"), ("状态", "get_status_display"),
        ("下单时间", "created_at"), ("支付时间", "paid_at")], "orders")

    @admin.display(description="对公转账")
    def bank_transfer(self, obj):
        if obj.status != Order.PENDING or not (obj.organization_id or obj.campaign_id):
            return "—"
        return format_html('<a class="button" href="{}">确认对公转账到账</a>',
                           reverse("admin:enrollment_order_bank_transfer", args=[obj.pk]))

    def get_urls(self):
        return [path("<int:order_id>/bank-transfer/", self.admin_site.admin_view(self.bank_transfer_view),
                     name="enrollment_order_bank_transfer"), *super().get_urls()]

    def bank_transfer_view(self, request, order_id):
        """Staff confirm that an organization's transfer arrived: applied once per bank reference."""
        from enrollment import billing

        if not request.user.has_perm("enrollment.add_payment"):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        form = BankTransferForm(request.POST or None, initial={"amount": order.amount,
                                                               "received_on": timezone.localdate()})
        if request.method == "POST" and form.is_valid():
            try:
                outcome = billing.bank_transfer_confirm(order=order, user=request.user, **form.cleaned_data)
            except billing.PaymentRefused as refused:
                form.add_error(None, refused.message)
            else:
                if outcome == "applied":
                    messages.success(request, f"订单{order.number}已确认到账，保单已出单。")
                else:
                    messages.warning(request, f"该银行流水号已登记（{outcome}），未重复入账。")
                return redirect(reverse("admin:enrollment_order_change", args=[order.pk]))
        return TemplateResponse(request, "admin/enrollment/form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": f"确认对公转账：订单 {order.number}（{order.amount} 元）"})


@admin.register(Policy)
class PolicyAdmin(ViewOnlyAdmin):
    list_display = ["number", "person", "version", "plan", "channel", "premium", "status", "coverage_start"]
    list_filter = ["status", "channel", "version", "plan__code"]
    search_fields = ["number", "person__name", "person__id_masked"]

    def get_search_results(self, request, queryset, search_term):
        from enrollment import idnumber

        term = search_term.strip()
        if len(term) == 18 and idnumber.is_valid(term):
            return queryset.filter(person__in=Person.objects.by_id_number(term)), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    list_display = ["out_trade_no", "order", "provider", "method", "amount", "status", "transaction_id", "succeeded_at"]
    list_filter = ["status", "provider", "method"]
    search_fields = ["out_trade_no", "transaction_id", "order__number"]


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ViewOnlyAdmin):
    list_display = ["received_at", "provider", "accepted", "outcome", "payment"]
    list_filter = ["accepted", "outcome", "provider"]


@admin.register(Refund)
class RefundAdmin(ViewOnlyAdmin):
    list_display = ["out_refund_no", "payment", "amount", "status", "reason", "created_at", "completed_at"]
