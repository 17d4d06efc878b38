"""Staff edit the whole product configuration here, without code.

Cross-row rules (bands ascending, co-insurer shares 100%, the premium cap, deductible groups that
exist) are checked by ``enrollment.validation`` before anything is saved; a published version is
read-only (and frozen in the database) — "复制为新版本" makes an editable draft.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from enrollment import services, validation
from enrollment.admin.common import CheckedInlineFormSet, _live_rows, _sibling
from enrollment.models import (
    CoInsurer,
    DeductibleGroup,
    Plan,
    PriceBand,
    ProductVersion,
    Program,
    RatioBand,
    Responsibility,
)

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
        program = data.get("program")
        dates = ("sales_start", "sales_end", "coverage_start", "coverage_end")
        if all(data.get(key) for key in dates):
            errors += validation.window_errors(**{key: data[key] for key in dates},
                                               delay_days=program.cover_start_delay_days if program else 1)
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
