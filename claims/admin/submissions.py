"""Residents' out-of-region submissions: documents, keying in the settlement sheet, refusing."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from claims import services
from claims.admin.common import ReadOnlyAdmin
from claims.models import (
    ClaimSubmission,
)
from enrollment import idnumber
from portal import storage
from portal.shortcuts import get_object_or_404

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
        submission = get_object_or_404(ClaimSubmission, pk=submission_id)
        document = get_object_or_404(submission.documents, pk=document_id)
        return storage.download(storage.unsealed(document.file), filename=document.original_name)

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
