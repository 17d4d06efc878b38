"""Organizations, campaigns and beneficiary lists."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from enrollment.admin.common import ViewOnlyAdmin, export_actions
from enrollment.models import (
    BeneficiaryList,
    BeneficiaryRow,
    Campaign,
    Organization,
    OrganizationMember,
    OrganizationPayroll,
)

# --- Organizations, campaigns, beneficiary lists ---------------------------------------------


class MemberInline(admin.TabularInline):
    model = OrganizationMember
    fields = ["resident", "role", "added_at"]
    readonly_fields = ["resident", "added_at"]
    extra = 0


class PayrollInline(admin.TabularInline):
    model = OrganizationPayroll
    fields = ["year", "amount", "declared_by", "declared_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # declared by the organization's manager


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "kind", "status", "contact_name", "created_at", "reviewed_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "credit_code", "contact_name"]
    fields = ["name", "credit_code", "kind", "contact_name", "contact_phone", "invoice_title", "status",
              "review_note", "reviewed_by", "reviewed_at", "created_at"]
    readonly_fields = ["credit_code", "status", "reviewed_by", "reviewed_at", "created_at"]
    inlines = [MemberInline, PayrollInline]
    actions = ["approve", "reject", *export_actions([
        ("单位名称", "name"), ("统一社会信用代码", "credit_code"), ("单位类型", "get_kind_display"),
        ("审核状态", "get_status_display"), ("联系人", "contact_name"), ("联系电话", "contact_phone"),
        ("注册时间", "created_at")], "organizations")]

    def has_add_permission(self, request):
        return False  # organizations register themselves, with their credit code checked

    @admin.action(description="审核通过")
    def approve(self, request, queryset):
        from enrollment import organizations

        for organization in queryset:
            organizations.organization_review(organization=organization, user=request.user, approve=True)
        messages.success(request, f"已通过 {queryset.count()} 个单位。")

    @admin.action(description="审核不通过（请先在单位页面填写审核意见）")
    def reject(self, request, queryset):
        from enrollment import organizations

        done = 0
        for organization in queryset:
            try:
                organizations.organization_review(organization=organization, user=request.user, approve=False,
                                                  note=organization.review_note)
                done += 1
            except organizations.Refused as refused:
                messages.error(request, f"{organization.name}：{refused.message}")
        if done:
            messages.success(request, f"已退回 {done} 个单位。")


class CampaignForm(forms.ModelForm):
    """Staff make and edit campaigns under the same organizer and target rules as the service."""

    class Meta:
        model = Campaign
        fields = "__all__"

    def clean(self):
        from enrollment import targeting

        data = super().clean()
        organizer = data.get("organizer")
        errors = targeting.rule_errors(kind=data.get("kind"), organizer_kind=organizer.kind if organizer else None,
                                       target_rule=data.get("target_rule"), min_age=data.get("min_age"),
                                       statuses=data.get("hardship_statuses"))
        for field, _, message in errors:
            self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ["name", "kind", "organizer", "plan", "target_count", "people", "budget", "given", "public"]
    list_filter = ["kind", "public", "plan__version"]
    search_fields = ["name", "organizer__name", "target_group"]
    prepopulated_fields = {"slug": ["name"]}
    actions = export_actions([
        ("活动", "name"), ("类型", "get_kind_display"), ("发起单位", "organizer"), ("帮扶对象", "target_group"),
        ("目标人数", "target_count"), ("已覆盖人数", "people"), ("预算", "budget"), ("已捐金额", "given")], "campaigns")

    def get_queryset(self, request):
        from enrollment import selectors

        return selectors.campaigns_with_progress(super().get_queryset(request))

    @admin.display(description="已覆盖人数", ordering="people")
    def people(self, obj):
        return obj.people

    @admin.display(description="已捐金额", ordering="given")
    def given(self, obj):
        return obj.given or Decimal("0.00")


@admin.register(BeneficiaryList)
class BeneficiaryListAdmin(ViewOnlyAdmin):
    list_display = ["number", "organization", "campaign", "channel", "status", "total_rows", "processed_rows",
                    "order", "created_at"]
    list_filter = ["status", "channel", "campaign"]
    search_fields = ["number", "organization__name", "file_name", "order__number"]
    exclude = ["file"]
    readonly_fields = ["rows_link"]
    actions = export_actions([
        ("名单编号", "number"), ("单位", "organization"), ("活动", "campaign"), ("状态", "get_status_display"),
        ("总行数", "total_rows"), ("订单", "order"), ("上传时间", "created_at")], "lists")

    @admin.display(description="名单行")
    def rows_link(self, obj):
        url = reverse("admin:enrollment_beneficiaryrow_changelist") + f"?list__id__exact={obj.pk}"
        return format_html('<a href="{}">查看 {} 行</a>', url, obj.total_rows)


@admin.register(BeneficiaryRow)
class BeneficiaryRowAdmin(ViewOnlyAdmin):
    list_display = ["list", "row_number", "name", "id_masked", "status", "code", "message", "price", "policy"]
    list_filter = ["status", "code"]
    search_fields = ["list__number", "name", "id_masked"]
    exclude = ["id_cipher", "id_hash"]
    list_select_related = ["list", "policy"]
    actions = export_actions([
        ("名单编号", "list__number"), ("行号", "row_number"), ("姓名", "name"), ("身份证号", "id_masked"),
        ("结果", "get_status_display"), ("原因代码", "code"), ("说明", "message"), ("保费", "price"),
        ("保单号", "policy__number")], "rows")
