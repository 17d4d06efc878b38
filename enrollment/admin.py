"""Staff edit the whole product configuration here, without code.

Cross-row rules (bands ascending, co-insurer shares 100%, the premium cap, deductible groups that
exist) are checked by ``enrollment.validation`` before anything is saved; a published version is
read-only (and frozen in the database) — "复制为新版本" makes an editable draft.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from enrollment import services, validation
from enrollment.models import (
    BeneficiaryList,
    BeneficiaryRow,
    Campaign,
    CharityFund,
    CoInsurer,
    Consent,
    ConsentText,
    DeductibleGroup,
    FundEntry,
    Order,
    Organization,
    OrganizationMember,
    Payment,
    PaymentNotification,
    Person,
    Plan,
    Policy,
    PriceBand,
    ProductVersion,
    Program,
    RatioBand,
    Refund,
    RenewalAuthorization,
    Resident,
    Responsibility,
)
from portal import tabular


def _live_rows(formset) -> list[dict]:
    """cleaned_data of the rows that will exist after saving (filled in, not marked for deletion)."""
    return [
        form.cleaned_data
        for form in formset.forms
        if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
    ]


def _sibling(formset, model):
    for other in getattr(formset, "siblings", ()):
        if other.model is model:
            return other
    return None


class CheckedInlineFormSet(BaseInlineFormSet):
    """An inline formset whose ``check(rows)`` returns Chinese messages for the whole set."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        errors = self.check(_live_rows(self))
        if errors:
            raise ValidationError(errors)

    def check(self, rows: list[dict]) -> list[str]:
        return []


# --- Program -------------------------------------------------------------------------------


class CoInsurerFormSet(CheckedInlineFormSet):
    def check(self, rows):
        return validation.coinsurer_errors((r["name"], r["share"], r.get("is_lead", False)) for r in rows)


class CoInsurerInline(admin.TabularInline):
    model = CoInsurer
    formset = CoInsurerFormSet
    extra = 0


class ProgramForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = "__all__"

    def clean_eligible_regions(self):
        regions = self.cleaned_data["eligible_regions"]
        bad = [r for r in regions if not (r.isdigit() and 2 <= len(r) <= 6)]
        if bad:
            raise ValidationError(f"地区码前缀应为2到6位数字：{'、'.join(bad)}")
        return regions


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    form = ProgramForm
    list_display = ["name", "city", "code", "premium_cap_ratio", "cycle_years"]
    search_fields = ["name", "city", "code"]
    inlines = [CoInsurerInline]


# --- Product version -----------------------------------------------------------------------


class PlanInlineForVersion(admin.TabularInline):
    model = Plan
    fields = ["code", "name", "pricing", "price", "is_sample"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ProductVersionForm(forms.ModelForm):
    class Meta:
        model = ProductVersion
        exclude = ["status"]

    def clean(self):
        data = super().clean()
        errors = []
        if data.get("sales_start") and data.get("sales_end") and data["sales_end"] < data["sales_start"]:
            errors.append("销售截止日期早于销售开始日期。")
        if data.get("coverage_start") and data.get("coverage_end") and data["coverage_end"] < data["coverage_start"]:
            errors.append("保障结束日期早于保障开始日期。")
        program = data.get("program")
        if program and self.instance.pk:
            cap = validation.premium_cap(
                cap_ratio=program.premium_cap_ratio, resident_contribution=data.get("resident_contribution")
            )
            for plan in self.instance.plans.prefetch_related("price_bands"):
                prices = [plan.price] if plan.pricing == Plan.FLAT else [b.price for b in plan.price_bands.all()]
                for price in prices:
                    errors += [f"方案“{plan.name}”：{e}" for e in validation.price_errors(price, cap)]
        if errors:
            raise ValidationError(errors)
        return data


@admin.register(ProductVersion)
class ProductVersionAdmin(admin.ModelAdmin):
    form = ProductVersionForm
    list_display = ["slug", "name", "program", "year", "status", "sales_start", "sales_end", "coverage_start"]
    list_filter = ["program", "status", "year"]
    search_fields = ["slug", "name"]
    readonly_fields = ["status", "published_at"]
    inlines = [PlanInlineForVersion]
    actions = ["publish", "copy_as_draft"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="发布所选版本（发布后不可修改）")
    def publish(self, request, queryset):
        for version in queryset:
            try:
                services.version_publish(version=version)
            except ValidationError as exc:
                self.message_user(request, f"{version.slug} 未发布：{'；'.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{version.slug} 已发布。", messages.SUCCESS)

    @admin.action(description="复制为新版本（草稿）")
    def copy_as_draft(self, request, queryset):
        for version in queryset:
            slug = f"{version.slug}-draft"
            suffix = 1
            while ProductVersion.objects.filter(slug=slug).exists():
                suffix += 1
                slug = f"{version.slug}-draft{suffix}"
            copy = services.version_copy(version=version, slug=slug)
            self.message_user(request, f"已复制为草稿 {copy.slug}，请修改版本代码与年度后发布。", messages.SUCCESS)


# --- Plan ------------------------------------------------------------------------------------


def _plan_cap(formset) -> object:
    plan = formset.instance
    version = getattr(plan, "version", None)
    if version is None:
        return None
    return validation.premium_cap(
        cap_ratio=version.program.premium_cap_ratio, resident_contribution=version.resident_contribution
    )


class PriceBandFormSet(CheckedInlineFormSet):
    def check(self, rows):
        pricing = getattr(self, "parent_pricing", Plan.FLAT)
        if pricing != Plan.AGE_BANDS:
            return ["统一保费方案不使用年龄段，请删除年龄段或改为按年龄段定价。"] if rows else []
        return validation.price_band_errors(((r["min_age"], r["max_age"], r["price"]) for r in rows), _plan_cap(self))


class DeductibleGroupFormSet(CheckedInlineFormSet):
    def check(self, rows):
        codes = [r["code"] for r in rows]
        duplicated = sorted({c for c in codes if codes.count(c) > 1})
        return [f"免赔额代码重复：{'、'.join(duplicated)}"] if duplicated else []


class RatioBandFormSet(CheckedInlineFormSet):
    def check(self, rows):
        # Entered order matters to staff, but the rule is on the amounts: order by upper, open last.
        bands = sorted(((r["upper"], r["ratio"]) for r in rows), key=lambda b: (b[0] is None, b[0] or 0))
        entered = [(r["upper"], r["ratio"]) for r in rows]
        errors = validation.ratio_band_errors(bands)
        if entered != bands and not errors:
            uppers = [u for u, _ in entered if u is not None]
            if uppers != sorted(uppers):
                errors.append("分段赔付比例的累计金额上限必须从低到高递增，请按金额从小到大填写各档。")
        return errors


class ResponsibilityFormSet(CheckedInlineFormSet):
    def check(self, rows):
        groups = _sibling(self, DeductibleGroup)
        bands = _sibling(self, RatioBand)
        group_codes = {r["code"] for r in _live_rows(groups)} if groups else set()
        has_bands = bool(_live_rows(bands)) if bands else False
        errors = []
        for r in rows:
            errors += validation.responsibility_errors(
                label=f"“{r.get('name', '')}”",
                schedule=r["schedule"],
                flat_ratio=r.get("flat_ratio"),
                covered_field=r["covered_field"],
                drug_list=r.get("drug_list", ""),
                deductible_group=r.get("deductible_group", ""),
                group_codes=group_codes,
                has_bands=has_bands,
                annual_limit=r.get("annual_limit"),
            )
        codes = [r["code"] for r in rows]
        duplicated = sorted({c for c in codes if codes.count(c) > 1})
        if duplicated:
            errors.append(f"责任代码重复：{'、'.join(duplicated)}")
        return errors


class PriceBandInline(admin.TabularInline):
    model = PriceBand
    formset = PriceBandFormSet
    extra = 0


class DeductibleGroupInline(admin.TabularInline):
    model = DeductibleGroup
    formset = DeductibleGroupFormSet
    extra = 0


class RatioBandInline(admin.TabularInline):
    model = RatioBand
    formset = RatioBandFormSet
    extra = 0


class ResponsibilityInline(admin.StackedInline):
    model = Responsibility
    formset = ResponsibilityFormSet
    extra = 0
    fieldsets = [
        (None, {"fields": [("position", "code", "name"), ("covered_field", "annual_limit", "deductible_group")]}),
        ("赔付比例", {"fields": [("schedule", "flat_ratio")]}),
        (
            "赔付条件",
            {
                "fields": [
                    ("visit_types", "min_hospital_level"),
                    ("require_designated", "require_in_region"),
                    "diagnosis_ranges",
                    "drug_list",
                ]
            },
        ),
    ]


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = "__all__"

    def clean(self):
        data = super().clean()
        errors = []
        version = data.get("version")
        if version is not None and version.is_published:
            raise ValidationError("该产品版本已发布，不能修改；请复制为新版本后修改。")
        if data.get("pricing") == Plan.FLAT:
            if data.get("price") is None:
                errors.append("统一保费方案须填写保费。")
            elif version is not None:
                cap = validation.premium_cap(
                    cap_ratio=version.program.premium_cap_ratio, resident_contribution=version.resident_contribution
                )
                errors += validation.price_errors(data["price"], cap)
        if (data.get("uplift_per_year") is None) != (data.get("uplift_cap") is None):
            errors.append("连续参保提高比例与上限须同时填写或同时留空。")
        if errors:
            raise ValidationError(errors)
        return data


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = ["__str__", "pricing", "price", "is_sample", "version_status"]
    list_filter = ["version__program", "version", "is_sample"]
    search_fields = ["code", "name", "version__slug"]
    inlines = [PriceBandInline, DeductibleGroupInline, RatioBandInline, ResponsibilityInline]
    fieldsets = [
        (None, {"fields": ["version", ("code", "name", "position"), "is_sample"]}),
        ("保费", {"fields": [("pricing", "price")]}),
        ("赔付", {"fields": ["pre_existing_ratio", ("uplift_per_year", "uplift_cap"), "assistance_ratio_bonus"]}),
    ]

    @admin.display(description="版本状态")
    def version_status(self, obj):
        return obj.version.get_status_display()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.version.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.version.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def _create_formsets(self, request, obj, change):
        # Cross-inline rules (a responsibility's deductible group must be one of this plan's
        # groups; band responsibilities need bands; age bands only with age pricing) read the
        # sibling formsets of the same submission, before anything is saved.
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        pricing = request.POST.get("pricing", getattr(obj, "pricing", Plan.FLAT))
        for formset in formsets:
            formset.siblings = formsets
            formset.parent_pricing = pricing
        return formsets, inline_instances


# --- Persons ---------------------------------------------------------------------------------


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """Only masked ID numbers are shown; searching by a full ID number uses the blind index."""

    list_display = ["name", "id_masked", "sex", "birth_date", "region_code", "created_at"]
    search_fields = ["name", "id_masked"]
    fields = ["name", "id_masked", "sex", "birth_date", "region_code", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 18:
            from enrollment import idnumber

            try:
                return queryset.by_id_number(term), False
            except idnumber.IdNumberError:
                pass
        return super().get_search_results(request, queryset, search_term)


# --- Residents, orders, policies, payments ------------------------------------------------------

def export_actions(columns: list[tuple[str, str]], title: str):
    """Admin actions exporting the selected rows to CSV and XLSX (cells starting with = + - @ made
    safe). ``columns`` are (header, attribute path with ``__``; a ``get_x_display`` name works)."""

    def value(obj, attribute):
        for part in attribute.split("__"):
            obj = getattr(obj, part, None)
            obj = obj() if callable(obj) else obj
            if obj is None:
                return ""
        return obj if isinstance(obj, (int, Decimal, str)) else str(obj)

    def rows(queryset):
        return ([value(obj, attribute) for _, attribute in columns] for obj in queryset)

    header = [label for label, _ in columns]

    @admin.action(description="导出所选（CSV）")
    def export_csv(modeladmin, request, queryset):
        return HttpResponse(tabular.to_csv(header, rows(queryset)), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{title}.csv"'})

    @admin.action(description="导出所选（XLSX）")
    def export_xlsx(modeladmin, request, queryset):
        return HttpResponse(tabular.to_xlsx(header, rows(queryset), title=title), headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="{title}.xlsx"'})

    return [export_csv, export_xlsx]


class ViewOnlyAdmin(admin.ModelAdmin):
    """Money and consent records are changed by services only, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Resident)
class ResidentAdmin(ViewOnlyAdmin):
    list_display = ["__str__", "person", "bound_at", "created_at"]
    search_fields = ["phone", "person__name", "person__id_masked"]


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
class OrderAdmin(ViewOnlyAdmin):
    list_display = ["number", "version", "channel", "organization", "method", "amount", "status", "created_at",
                    "paid_at"]
    list_filter = ["status", "channel", "method", "version", "campaign"]
    search_fields = ["number", "resident__phone", "policies__person__id_masked", "organization__name"]
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
        form = BankTransferForm(request.POST or None, initial={"amount": order.amount})
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


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    """A text once agreed to is never edited: publish a new version instead."""

    list_display = ["title", "kind", "version", "effective_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and Consent.objects.filter(text=obj).exists():
            return False
        return super().has_change_permission(request, obj)


@admin.register(Consent)
class ConsentAdmin(ViewOnlyAdmin):
    list_display = ["person", "text", "given_by", "as_guardian", "given_at"]
    list_filter = ["text__kind", "as_guardian"]


@admin.register(RenewalAuthorization)
class RenewalAuthorizationAdmin(ViewOnlyAdmin):
    list_display = ["person", "program", "plan_code", "created_at", "revoked_at"]
    list_filter = ["program"]


# --- Organizations, campaigns, beneficiary lists, the charity fund --------------------------------


class BankTransferForm(forms.Form):
    reference = forms.CharField(label="银行流水号", max_length=64)
    amount = forms.DecimalField(label="到账金额（元）", max_digits=12, decimal_places=2, min_value=Decimal("0.01"))


class MemberInline(admin.TabularInline):
    model = OrganizationMember
    fields = ["resident", "role", "added_at"]
    readonly_fields = ["resident", "added_at"]
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "kind", "status", "contact_name", "created_at", "reviewed_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "credit_code", "contact_name"]
    fields = ["name", "credit_code", "kind", "contact_name", "contact_phone", "invoice_title", "status",
              "review_note", "reviewed_by", "reviewed_at", "created_at"]
    readonly_fields = ["credit_code", "status", "reviewed_by", "reviewed_at", "created_at"]
    inlines = [MemberInline]
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


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
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
