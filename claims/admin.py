"""Claims review in the Django admin.

Roles (groups made by migration 0003): 理赔审核员 (reviewer: correct, approve, reject),
理赔复核人 (approver: also the second approval of large payouts and payment batches),
理赔审计员 (read-only auditor). Every page shows ID numbers masked; nobody edits money or states
directly: each action is a service with a reason, recorded in the audit trail.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from claims import selectors, services
from claims.models import (
    FLAG_LABELS,
    REJECTION_CODES,
    Claim,
    ClaimSubmission,
    PayoutBatch,
    Settlement,
    SettlementSource,
)
from enrollment import idnumber
from enrollment.models import Program
from portal import crypto

MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")


def search_by_id(queryset, term: str, id_hash_field: str, masked_field: str):
    """Search by the masked ID as shown on every page (``620602********1231``), or by a whole ID
    number through its blind index (the ID itself is never stored in clear)."""
    term = term.strip().upper()
    if MASKED_ID.match(term):
        return queryset.filter(**{masked_field: term})
    if idnumber.is_valid(term):
        return queryset.filter(**{id_hash_field: crypto.blind_index(idnumber.normalize(term))})
    return None


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Sources -----------------------------------------------------------------------------------


class SourceForm(forms.ModelForm):
    secret = forms.CharField(label="签名密钥", required=False, widget=forms.PasswordInput(render_value=False),
                             help_text="留空则不修改。密钥加密保存，只在此处输入一次。")

    class Meta:
        model = SettlementSource
        fields = ["code", "name", "kind", "program", "key_id", "active"]

    def save(self, commit=True):
        source = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            source.secret_cipher = crypto.encrypt(self.cleaned_data["secret"])
        if commit:
            source.save()
        return source


@admin.register(SettlementSource)
class SettlementSourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ["name", "code", "kind", "program", "key_id", "active"]
    list_filter = ["kind", "program", "active"]


# --- Settlements -------------------------------------------------------------------------------


class ImportForm(forms.Form):
    program = forms.ModelChoiceField(Program.objects.all(), label="项目")
    file = forms.FileField(label="结算单文件", help_text="CSV（UTF-8 或 GBK）或 XLSX；每列一个字段，与接口字段同名。")


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["settlement_id", "name", "id_masked", "hospital_name", "source", "match_status",
                    "unmatched_reason", "reversed_at", "received_at"]
    list_filter = ["match_status", "source", "hospital_name", ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["settlement_id", "id_masked", "name"]
    exclude = ["record", "id_hash", "content_hash"]
    readonly_fields = ["received_record"]
    change_list_template = "admin/claims/settlement/change_list.html"

    @admin.display(description="原始记录（身份证号已脱敏）")
    def received_record(self, obj):
        import json

        return format_html("<pre>{}</pre>", json.dumps(selectors.masked_record(obj.record), ensure_ascii=False,
                                                       indent=2))

    def get_search_results(self, request, queryset, search_term):
        found = search_by_id(queryset, search_term, "id_hash", "id_masked")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="claims_settlement_import"),
                *super().get_urls()]

    def import_view(self, request):
        from portal.tabular import TableInvalid, read_table

        if not request.user.has_perm("claims.review_claim"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        results = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = read_table(upload.name, upload.read(), required=("settlement_id", "id_number"), max_rows=5000)
            except TableInvalid as exc:
                form.add_error("file", exc.message)
            else:
                receipts = services.settlements_import(program=form.cleaned_data["program"], rows=rows,
                                                       user=request.user)
                results = [r.as_json(index + 2) for index, r in enumerate(receipts)]  # spreadsheet row numbers
                accepted = sum(1 for r in results if r["status"] == "accepted")
                messages.info(request, f"共{len(results)}行：接收{accepted}行，其余{len(results) - accepted}行见下表。")
        return TemplateResponse(request, "admin/claims/settlement/import.html", {
            **self.admin_site.each_context(request), "form": form, "results": results,
            "title": "导入结算单", "opts": self.model._meta,
        })


# --- Claims ------------------------------------------------------------------------------------


class AmountFilter(admin.SimpleListFilter):
    title = "赔付金额"
    parameter_name = "amount"
    RANGES = {"0": ("无赔付", Q(payout=0)), "lt1w": ("1万元以下", Q(payout__gt=0, payout__lt=10000)),
              "1w-5w": ("1万–5万元", Q(payout__gte=10000, payout__lt=50000)), "ge5w": ("5万元及以上", Q(payout__gte=50000))}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.RANGES.items()]

    def queryset(self, request, queryset):
        return queryset.filter(self.RANGES[self.value()][1]) if self.value() in self.RANGES else queryset


class FlagFilter(admin.SimpleListFilter):
    title = "标记"
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return list(FLAG_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(flags__contains=[self.value()]) if self.value() in FLAG_LABELS else queryset


class ApproveForm(forms.Form):
    note = forms.CharField(label="审核意见", required=False, max_length=500)


class RejectForm(forms.Form):
    code = forms.ChoiceField(label="拒赔原因", choices=[("", "请选择")] + REJECTION_CODES)
    note = forms.CharField(label="说明", required=False, max_length=500)


class CorrectForm(forms.Form):
    pre_existing = forms.TypedChoiceField(label="既往症", choices=[("1", "是"), ("0", "否")],
                                          coerce=lambda v: v == "1", widget=forms.RadioSelect)
    reason = forms.CharField(label="更正原因", max_length=200)


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ["settlement_no", "insured", "id_masked", "program", "hospital", "payout", "paid_amount",
                    "state", "flag_text", "created_at"]
    list_filter = ["state", "policy__version__program", "settlement__hospital_name", AmountFilter, FlagFilter]
    search_fields = ["settlement__settlement_id"]
    list_select_related = ["settlement", "policy__person", "policy__version__program"]
    change_form_template = "admin/claims/claim/review.html"

    @admin.display(description="结算单号", ordering="settlement__settlement_id")
    def settlement_no(self, obj):
        return obj.settlement.settlement_id

    @admin.display(description="被保险人")
    def insured(self, obj):
        return obj.settlement.name

    @admin.display(description="身份证号")
    def id_masked(self, obj):
        return obj.settlement.id_masked

    @admin.display(description="项目")
    def program(self, obj):
        return obj.policy.version.program.name

    @admin.display(description="医院", ordering="settlement__hospital_name")
    def hospital(self, obj):
        return obj.settlement.hospital_name

    @admin.display(description="标记")
    def flag_text(self, obj):
        return "、".join(obj.flag_labels)

    def get_search_results(self, request, queryset, search_term):
        found = search_by_id(queryset, search_term, "settlement__id_hash", "settlement__id_masked")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:claim_id>/approve/", view(self.approve_view), name="claims_claim_approve"),
            path("<int:claim_id>/reject/", view(self.reject_view), name="claims_claim_reject"),
            path("<int:claim_id>/correct/", view(self.correct_view), name="claims_claim_correct"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            claim = selectors.claim_detail(int(object_id))
        except (Claim.DoesNotExist, ValueError):
            raise Http404 from None
        return self._review_page(request, claim)

    def _review_page(self, request, claim, **forms_):
        user = request.user
        can_review = user.has_perm("claims.review_claim")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "title": f"理赔 {claim.settlement.settlement_id}",
            "claim": claim, "settlement": claim.settlement,
            "record": selectors.masked_record(claim.settlement.record),
            "lines": claim.lines.all(), "year": selectors.year_summary(claim.policy),
            "audit": selectors.audit_trail(claim),
            "can_review": can_review,
            "errors": [error for form in forms_.values() for error in form.non_field_errors()],
            "can_approve": (claim.state == Claim.PENDING_REVIEW and can_review)
            or (claim.state == Claim.PENDING_SECOND and user.has_perm("claims.second_approve_claim")),
            "can_reject": can_review and claim.state in (Claim.PENDING_REVIEW, Claim.PENDING_SECOND, Claim.APPROVED),
            "approve_form": forms_.get("approve_form") or ApproveForm(),
            "reject_form": forms_.get("reject_form") or RejectForm(),
            "correct_form": forms_.get("correct_form")
            or CorrectForm(initial={"pre_existing": "0" if claim.settlement.effective_pre_existing else "1"}),
        }
        return TemplateResponse(request, self.change_form_template, context,
                                status=422 if any(f.errors for f in forms_.values()) else 200)

    def _action(self, request, claim_id, form_class, form_name, run):
        if request.method != "POST":
            return redirect(reverse("admin:claims_claim_change", args=[claim_id]))
        claim = get_object_or_404(Claim, pk=claim_id)
        form = form_class(request.POST)
        if form.is_valid():
            try:
                message = run(claim, form.cleaned_data)
            except services.ReviewRefused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, message)
                return redirect(reverse("admin:claims_claim_change", args=[claim_id]))
        return self._review_page(request, selectors.claim_detail(claim_id), **{form_name: form})

    def approve_view(self, request, claim_id):
        def run(claim, data):
            claim = services.claim_approve(claim_id=claim.pk, user=request.user, note=data["note"])
            if claim.state == Claim.PENDING_SECOND:
                return "已审核，待另一位复核人复核（大额理赔双人审批）"
            return "已审核通过"
        return self._action(request, claim_id, ApproveForm, "approve_form", run)

    def reject_view(self, request, claim_id):
        def run(claim, data):
            services.claim_reject(claim_id=claim.pk, user=request.user, code=data["code"], note=data["note"])
            return "已拒赔，保单年度已重新计算"
        return self._action(request, claim_id, RejectForm, "reject_form", run)

    def correct_view(self, request, claim_id):
        def run(claim, data):
            written = services.settlement_correct(settlement_id=claim.settlement_id, user=request.user,
                                                  pre_existing=data["pre_existing"], reason=data["reason"])
            return f"已更正并重新计算，新增{written}条调整明细"
        return self._action(request, claim_id, CorrectForm, "correct_form", run)


# --- Payment batches ---------------------------------------------------------------------------


class BatchCreateForm(forms.Form):
    program = forms.ModelChoiceField(Program.objects.all(), label="项目")


class ReconcileForm(forms.Form):
    file = forms.FileField(label="保险公司回盘文件", required=False,
                           help_text="CSV 或 XLSX，含“结算单号”“支付金额”两列；不上传则确认整批已按导出金额支付。")


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ["number", "program", "total", "paid_total", "status", "created_by", "created_at", "reconciled_at"]
    list_filter = ["status", "program"]
    search_fields = ["number"]
    change_list_template = "admin/claims/payoutbatch/change_list.html"
    change_form_template = "admin/claims/payoutbatch/detail.html"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "programs": Program.objects.all()})

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("create/", view(self.create_view), name="claims_payoutbatch_create"),
            path("<int:batch_id>/export.<str:fmt>", view(self.export_view), name="claims_payoutbatch_export"),
            path("<int:batch_id>/reconcile/", view(self.reconcile_view), name="claims_payoutbatch_reconcile"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PayoutBatch, pk=object_id)
        return self._detail(request, batch, ReconcileForm())

    def _detail(self, request, batch, form, status=200):
        return TemplateResponse(request, self.change_form_template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": f"支付批次 {batch.number}",
            "batch": batch, "rows": selectors.payout_rows(batch), "columns": selectors.PAYOUT_COLUMNS,
            "form": form, "can_manage": request.user.has_perm("claims.manage_payout_batch"),
        }, status=status)

    def create_view(self, request):
        form = BatchCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                batch = services.payout_batch_create(program=form.cleaned_data["program"], user=request.user)
            except services.ReviewRefused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已生成支付批次 {batch.number}，共{batch.items.count()}笔，合计{batch.total}元")
                return redirect(reverse("admin:claims_payoutbatch_change", args=[batch.pk]))
        return redirect(reverse("admin:claims_payoutbatch_changelist"))

    def export_view(self, request, batch_id, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PayoutBatch, pk=batch_id)
        if fmt == "csv":
            return HttpResponse(selectors.payout_csv(batch), content_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="{batch.number}.csv"'})
        if fmt == "xlsx":
            return HttpResponse(selectors.payout_xlsx(batch), headers={
                "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "Content-Disposition": f'attachment; filename="{batch.number}.xlsx"'})
        raise Http404

    def reconcile_view(self, request, batch_id):
        from portal.tabular import TableInvalid, read_table

        batch = get_object_or_404(PayoutBatch, pk=batch_id)
        form = ReconcileForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            return redirect(reverse("admin:claims_payoutbatch_change", args=[batch.pk]))
        paid = None
        upload = form.cleaned_data.get("file")
        if upload:
            try:
                rows = read_table(upload.name, upload.read(), required=("结算单号", "支付金额"), max_rows=100_000)
                paid = {row["结算单号"].lstrip("'"): Decimal(row["支付金额"]).quantize(Decimal("0.01")) for row in rows}
            except TableInvalid as exc:
                form.add_error("file", exc.message)
            except (InvalidOperation, KeyError):
                form.add_error("file", "“支付金额”列须为金额，例如 5400.00")
        if not form.errors:
            try:
                batch = services.payout_batch_reconcile(batch_id=batch.pk, user=request.user, paid=paid)
            except services.ReviewRefused as exc:
                form.add_error(None, exc.message)
            else:
                report = batch.reconciliation
                messages.success(request, f"对账完成：已支付{report['paid']}笔，合计{batch.paid_total}元；"
                                          f"未支付{len(report['missing']) + len(report['mismatched'])}笔将进入下一批次")
                return redirect(reverse("admin:claims_payoutbatch_change", args=[batch.pk]))
        return self._detail(request, batch, form, status=422)


# --- Residents' out-of-region submissions ------------------------------------------------------


class KeyInForm(forms.Form):
    hospital_code = forms.CharField(label="医院编码", max_length=64)
    hospital_level = forms.TypedChoiceField(label="医院等级", choices=[(1, "一级"), (2, "二级"), (3, "三级")], coerce=int)
    designated = forms.BooleanField(label="医保定点", required=False, initial=True)
    in_region = forms.BooleanField(label="市域内", required=False, initial=False)
    visit_type = forms.ChoiceField(label="就诊类型", choices=[("inpatient", "住院"), ("outpatient", "门诊")])
    settled_at = forms.DateTimeField(label="结算时间", help_text="例如 2025-08-09 10:00")
    diagnoses = forms.CharField(label="诊断编码（ICD-10）", help_text="多个以分号分隔，例如 I63.9;I10")
    pre_existing = forms.BooleanField(label="既往症", required=False)
    total = forms.CharField(label="医疗费用总额")
    base_fund_paid = forms.CharField(label="基本医保统筹支付", initial="0.00")
    critical_illness_paid = forms.CharField(label="大病保险支付", initial="0.00")
    medical_assistance_paid = forms.CharField(label="医疗救助支付", initial="0.00")
    in_catalog_self_pay = forms.CharField(label="医保目录内个人自付", initial="0.00")
    out_of_catalog = forms.CharField(label="医保目录外自费", initial="0.00")
    heavy_ion = forms.CharField(label="质子重离子", initial="0.00")


class RefuseForm(forms.Form):
    reason = forms.CharField(label="退回原因", max_length=200)


@admin.register(ClaimSubmission)
class ClaimSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["number", "applicant", "policy", "hospital_name", "admission_date", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["number", "policy__number"]
    change_form_template = "admin/claims/claimsubmission/detail.html"

    @admin.display(description="申请人")
    def applicant(self, obj):
        return str(obj.resident)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:submission_id>/document/<int:document_id>/", view(self.document_view),
                 name="claims_claimsubmission_document"),
            path("<int:submission_id>/key/", view(self.key_view), name="claims_claimsubmission_key"),
            path("<int:submission_id>/refuse/", view(self.refuse_view), name="claims_claimsubmission_refuse"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        submission = get_object_or_404(ClaimSubmission, pk=object_id)
        initial = {"settled_at": f"{submission.discharge_date or submission.admission_date} 12:00"}
        return self._detail(request, submission, KeyInForm(initial=initial), RefuseForm())

    def _detail(self, request, submission, key_form, refuse_form, errors=(), status=200):
        return TemplateResponse(request, self.change_form_template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": f"异地就医理赔申请 {submission.number}",
            "submission": submission, "key_form": key_form, "refuse_form": refuse_form, "record_errors": errors,
            "can_review": request.user.has_perm("claims.review_claim"),
            "insured_id": idnumber.mask(submission.policy.person.id_number),
        }, status=status)

    def document_view(self, request, submission_id, document_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(ClaimSubmission.objects.get(pk=submission_id).documents, pk=document_id)
        return FileResponse(document.file.open("rb"), content_type=document.content_type,
                            filename=document.original_name)

    def key_view(self, request, submission_id):
        submission = get_object_or_404(ClaimSubmission, pk=submission_id)
        form = KeyInForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            return self._detail(request, submission, form, RefuseForm(), status=422 if request.method == "POST" else 200)
        if not request.user.has_perm("claims.review_claim"):
            raise PermissionDenied
        data = form.cleaned_data
        amounts = {key: data[key].strip() for key in ("total", "base_fund_paid", "critical_illness_paid",
                                                      "medical_assistance_paid", "in_catalog_self_pay",
                                                      "out_of_catalog", "heavy_ion")}
        record = {
            "hospital_code": data["hospital_code"], "hospital_name": submission.hospital_name,
            "hospital_level": data["hospital_level"], "designated": data["designated"], "in_region": data["in_region"],
            "visit_type": data["visit_type"], "admission_date": submission.admission_date.isoformat(),
            "settled_at": data["settled_at"].isoformat(),
            "diagnoses": [c.strip() for c in re.split(r"[;；]", data["diagnoses"]) if c.strip()],
            "pre_existing": data["pre_existing"], "amounts": amounts,
        }
        if submission.discharge_date:
            record["discharge_date"] = submission.discharge_date.isoformat()
        try:
            receipt = services.claim_submission_key(submission_id=submission.pk, user=request.user, record=record)
        except services.ReviewRefused as exc:
            return self._detail(request, submission, form, RefuseForm(), errors=[exc.message], status=422)
        if receipt.status != services.ACCEPTED_STATUS:
            return self._detail(request, submission, form, RefuseForm(),
                                errors=[e.message for e in receipt.errors], status=422)
        messages.success(request, "已录入，理赔将按保险责任自动计算")
        claim_url = reverse("admin:claims_settlement_change", args=[receipt.settlement.pk])
        return redirect(claim_url)

    def refuse_view(self, request, submission_id):
        submission = get_object_or_404(ClaimSubmission, pk=submission_id)
        form = RefuseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if not request.user.has_perm("claims.review_claim"):
                raise PermissionDenied
            try:
                services.claim_submission_refuse(submission_id=submission.pk, user=request.user,
                                                 reason=form.cleaned_data["reason"])
            except services.ReviewRefused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "已退回")
            return redirect(reverse("admin:claims_claimsubmission_change", args=[submission.pk]))
        return self._detail(request, submission, KeyInForm(), form, status=422)
