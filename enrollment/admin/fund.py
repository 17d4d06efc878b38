"""The charity fund: donations, allocations and its ledger."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from enrollment.admin.common import ViewOnlyAdmin, export_actions
from enrollment.models import (
    CharityFund,
    FundEntry,
    Organization,
    Plan,
    ProductVersion,
)
from portal.shortcuts import get_object_or_404


class FundEntryInline(admin.TabularInline):
    model = FundEntry
    fields = ["created_at", "kind", "amount", "balance_after", "donor_name", "reference", "policy", "note",
              "created_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-created_at", "-id"]


class DonationForm(forms.Form):
    donor_name = forms.CharField(label="捐赠方（单位或个人）", max_length=100, required=False)
    organization = forms.ModelChoiceField(label="捐赠单位（已注册的）", queryset=Organization.objects.all(),
                                          required=False)
    amount = forms.CharField(label="金额（元）", max_length=20)
    reference = forms.CharField(label="到账凭证号", max_length=64)
    note = forms.CharField(label="说明", max_length=200, required=False)


class AllocationForm(forms.Form):
    plan = forms.ModelChoiceField(label="方案", queryset=Plan.objects.none())
    name = forms.CharField(label="姓名", max_length=30)
    id_number = forms.CharField(label="身份证号", max_length=18)
    note = forms.CharField(label="资助对象类别", max_length=200, help_text="如：医疗救助对象、特困人员、低保对象")

    def __init__(self, *args, fund=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(
            version__program=fund.program, version__status=ProductVersion.PUBLISHED).select_related("version")


@admin.register(CharityFund)
class CharityFundAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "balance"]
    readonly_fields = ["balance", "fund_actions"]
    inlines = [FundEntryInline]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "program"] if obj else ["balance"]

    @admin.display(description="操作")
    def fund_actions(self, obj):
        if obj is None or not obj.pk:
            return "—"
        return format_html('<a class="button" href="{}">登记捐赠</a> <a class="button" href="{}">资助参保</a>',
                           reverse("admin:enrollment_charityfund_donation", args=[obj.pk]),
                           reverse("admin:enrollment_charityfund_allocate", args=[obj.pk]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:fund_id>/donation/", view(self.donation_view), name="enrollment_charityfund_donation"),
                path("<int:fund_id>/allocate/", view(self.allocate_view), name="enrollment_charityfund_allocate"),
                *super().get_urls()]

    def _form_page(self, request, form, title):
        return TemplateResponse(request, "admin/enrollment/form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "title": title},
            status=422 if form.errors else 200)

    def donation_view(self, request, fund_id):
        from enrollment import fund as fund_services
        from enrollment.organizations import Refused

        if not request.user.has_perm("enrollment.add_fundentry"):
            raise PermissionDenied
        fund = get_object_or_404(CharityFund, pk=fund_id)
        form = DonationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = fund_services.donation_record(fund=fund, user=request.user, **form.cleaned_data)
            except Refused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(request, f"已登记捐赠 {entry.amount} 元，基金余额 {entry.balance_after} 元。")
                return redirect(reverse("admin:enrollment_charityfund_change", args=[fund.pk]))
        return self._form_page(request, form, f"登记捐赠：{fund.name}（余额 {fund.balance} 元）")

    def allocate_view(self, request, fund_id):
        from enrollment import fund as fund_services
        from enrollment.organizations import Refused

        if not request.user.has_perm("enrollment.add_fundentry"):
            raise PermissionDenied
        fund = get_object_or_404(CharityFund, pk=fund_id)
        form = AllocationForm(request.POST or None, fund=fund)
        if request.method == "POST" and form.is_valid():
            try:
                entry = fund_services.allocate(fund=fund, user=request.user, **form.cleaned_data)
            except Refused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(request, f"已资助参保：保单 {entry.policy.number}，支出 {-entry.amount} 元，"
                                          f"基金余额 {entry.balance_after} 元。")
                return redirect(reverse("admin:enrollment_charityfund_change", args=[fund.pk]))
        return self._form_page(request, form, f"资助参保：{fund.name}（余额 {fund.balance} 元）")


@admin.register(FundEntry)
class FundEntryAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "fund", "kind", "amount", "balance_after", "donor_name", "reference", "policy",
                    "created_by"]
    list_filter = ["fund", "kind"]
    search_fields = ["donor_name", "reference", "policy__number", "organization__name"]
    actions = export_actions([
        ("时间", "created_at"), ("基金", "fund"), ("类型", "get_kind_display"), ("金额", "amount"),
        ("余额", "balance_after"), ("捐赠方", "donor_name"), ("到账凭证号", "reference"), ("资助保单", "policy__number"),
        ("说明", "note")], "fund-ledger")
