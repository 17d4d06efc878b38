"""Claim review: approve (four eyes), reject with a reason, correct the pre-existing flag; the audit trail."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from claims import selectors, services
from claims.admin.common import ReadOnlyAdmin, search_by_id
from claims.models import (
    FLAG_LABELS,
    REJECTION_CODES,
    Claim,
)
from portal import storage
from portal.shortcuts import get_object_or_404

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


class DocumentsRequestForm(forms.Form):
    reason = forms.CharField(label="需补充的材料及原因", max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="居民将收到短信，并在“我的理赔”该理赔页面看到此说明并上传材料。")


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
            path("<int:claim_id>/request-documents/", view(self.request_documents_view),
                 name="claims_claim_request_documents"),
            path("<int:claim_id>/documents/<int:document_id>/", view(self.document_view),
                 name="claims_claim_document"),
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
            "record": selectors.masked_record(claim.settlement.received),
            "lines": claim.lines.all(), "year": selectors.year_summary(claim.policy),
            "audit": selectors.audit_trail(claim),
            "stages": claim.stages.all(),
            "document_requests": claim.document_requests.select_related("requested_by").prefetch_related("documents"),
            "can_request_documents": can_review and claim.state in Claim.OPEN_FOR_REVIEW
            and not claim.document_requests.filter(answered_at__isnull=True).exists(),
            "documents_form": forms_.get("documents_form") or DocumentsRequestForm(),
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

    def request_documents_view(self, request, claim_id):
        def run(claim, data):
            services.claim_documents_request(claim_id=claim.pk, user=request.user, reason=data["reason"])
            return "已要求居民补充材料，并已短信通知"
        return self._action(request, claim_id, DocumentsRequestForm, "documents_form", run)

    def document_view(self, request, claim_id, document_id):
        from claims.models import ClaimDocument

        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(ClaimDocument, pk=document_id, request__claim_id=claim_id)
        # Written to the access log by portal.staff.access (a file answered on a claim's admin URL).
        return storage.download(storage.unsealed(document.file), filename=document.original_name)

    def correct_view(self, request, claim_id):
        def run(claim, data):
            written = services.settlement_correct(settlement_id=claim.settlement_id, user=request.user,
                                                  pre_existing=data["pre_existing"], reason=data["reason"])
            return f"已更正并重新计算，新增{written}条调整明细"
        return self._action(request, claim_id, CorrectForm, "correct_form", run)
