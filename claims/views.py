"""The resident's claims: 我的理赔 (each settlement's payout and why), the year summary, and
out-of-region claims with the settlement sheets attached."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from claims import selectors, services
from claims.models import ClaimSubmission
from enrollment.models import Policy
from enrollment.views.purchase import resident_required
from portal.storage import MAX_FILE_BYTES
from portal.storage import sniff as _sniff

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); cleans to a list."""

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]


class SubmissionForm(forms.Form):
    policy = forms.ModelChoiceField(Policy.objects.none(), label="保单", empty_label="请选择")
    hospital_name = forms.CharField(label="就诊医院", max_length=200)
    admission_date = forms.DateField(label="入院（就诊）日期", widget=forms.DateInput(attrs={"type": "date"}))
    discharge_date = forms.DateField(label="出院日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(label="情况说明", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    documents = MultipleFileField(label="结算单据（照片或 PDF）", widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
                                required=False, help_text="JPG、PNG 或 PDF，每个不超过10MB，最多10个。")

    def __init__(self, *args, policies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = policies

    def clean(self):
        data = super().clean()
        policy, admitted = data.get("policy"), data.get("admission_date")
        if policy and admitted and not policy.coverage_start <= admitted <= policy.coverage_end:
            self.add_error("admission_date", "入院日期不在该保单的保障期内")
        if admitted and data.get("discharge_date") and data["discharge_date"] < admitted:
            self.add_error("discharge_date", "出院日期不能早于入院日期")
        files = data.get("documents") or []
        if not files:
            self.add_error("documents", "请上传结算单据")
        elif len(files) > MAX_FILES:
            self.add_error("documents", f"最多上传{MAX_FILES}个文件")
        for upload in files[:MAX_FILES]:
            if upload.size > MAX_FILE_BYTES:
                self.add_error("documents", f"“{upload.name}”超过10MB")
            elif (kind := _sniff(upload)) is None:
                self.add_error("documents", f"“{upload.name}”不是 JPG、PNG 或 PDF 文件")
            else:
                upload.content_type = kind
        return data


def _claimable_policies(resident):
    """Active policies of the resident, and of minors he bought for as their guardian."""
    from enrollment.selectors import guarded_policies

    return Policy.objects.filter(Q(person_id=resident.person_id) | Q(pk__in=guarded_policies(resident).values("pk")),
                                 status=Policy.ACTIVE).select_related("person", "version")


@resident_required
def my_claims(request):
    claims = selectors.resident_claims(request.resident)
    at_window = selectors.window_settlements_of(claims)
    for claim in claims:
        claim.at_window = at_window.get(claim.pk)
    policies = {claim.policy for claim in claims} | set(_claimable_policies(request.resident))
    years = [(policy, selectors.year_summary(policy)) for policy in sorted(policies, key=lambda p: p.number)]
    return render(request, "claims/my_claims.html", {
        "claims": claims, "years": years,
        "submissions": ClaimSubmission.objects.filter(resident=request.resident).select_related("policy__person"),
    })


@resident_required
def submit(request):
    policies = _claimable_policies(request.resident)
    form = SubmissionForm(request.POST or None, request.FILES or None, policies=policies)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        submission = services.claim_submission_create(
            resident=request.resident, policy=data["policy"], hospital_name=data["hospital_name"],
            admission_date=data["admission_date"], discharge_date=data["discharge_date"],
            description=data["description"], files=data["documents"])
        messages.success(request, f"申请已提交（申请号 {submission.number}），工作人员录入后将自动计算赔付。")
        return redirect("claims:my_claims")
    status = 422 if request.method == "POST" else 200
    return render(request, "claims/submit.html", {"form": form, "max_mb": MAX_FILE_BYTES // 1024 // 1024}, status=status)


@resident_required
def document(request, number, document_id):
    submission = get_object_or_404(ClaimSubmission, number=number, resident=request.resident)
    doc = submission.documents.filter(pk=document_id).first()
    if doc is None:
        raise Http404
    return FileResponse(doc.file.open("rb"), content_type=doc.content_type, filename=doc.original_name)


app_name = "claims"
urlpatterns = [
    path("", my_claims, name="my_claims"),
    path("submit/", submit, name="submit"),
    path("submissions/<str:number>/documents/<int:document_id>/", document, name="document"),
]
