"""The resident's claims: 我的理赔 (each settlement's payout and why), the year summary, and
out-of-region claims with the settlement sheets attached."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path

from claims import selectors, services
from claims.models import Claim, ClaimDocument, ClaimSubmission, Payee
from claims.services import payees as payee_services
from enrollment.models import Policy
from enrollment.views.purchase import resident_required
from portal import storage
from portal.shortcuts import get_object_or_404
from portal.storage import MAX_FILE_BYTES

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); cleans to a list."""

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]


def check_documents(form, files, field: str, empty: str) -> None:
    """The checks every resident upload gets: at least one, at most ``MAX_FILES``, each at most
    10 MB and a JPG, PNG or PDF by its content (its declared type is replaced by the sniffed one)."""
    if not files:
        form.add_error(field, empty)
    elif len(files) > MAX_FILES:
        form.add_error(field, f"最多上传{MAX_FILES}个文件")
    label = str(form.fields[field].label).split("（")[0]
    for upload in files[:MAX_FILES]:
        try:
            upload.checked = storage.document_check(upload, label=label)
        except storage.DocumentInvalid as exc:
            form.add_error(field, exc.message)
        else:
            upload.content_type = upload.checked.kind


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
        check_documents(self, data.get("documents") or [], "documents", "请上传结算单据")
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
    payees = payee_services.current_payees({claim.policy.person_id for claim in claims})
    for claim in claims:
        claim.payee = payees.get(claim.policy.person_id)
        claim.awaits_payee = claim.state == Claim.APPROVED and claim.payable > 0 and claim.payee is None
    return render(request, "claims/my_claims.html", {
        "claims": claims, "years": years, "awaiting_payee": [c for c in claims if c.awaits_payee],
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
    return storage.download(storage.unsealed(doc.file), filename=doc.original_name)


class DocumentsForm(forms.Form):
    documents = MultipleFileField(label="补充材料（照片或 PDF）", widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
                                required=False, help_text="JPG、PNG 或 PDF，每个不超过10MB，最多10个。")
    note = forms.CharField(label="说明（可不填）", max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        check_documents(self, data.get("documents") or [], "documents", "请选择要上传的材料")
        return data


def _resident_claim(resident, claim_id: int) -> Claim:
    """A claim this resident may see (``selectors.resident_claims``' rule), else 404."""
    from enrollment.selectors import guarded_policies

    own = Q(policy__person_id=resident.person_id)
    claim = (Claim.objects.filter(own | Q(policy__in=guarded_policies(resident).values("pk")), pk=claim_id)
             .select_related("settlement", "policy__person", "policy__plan__version").first())
    if claim is None:
        raise Http404
    return claim


@resident_required
def claim_detail(request, claim_id):
    """One claim: its payout explained, its progress as a timeline, and any request for documents,
    answered here by uploading them."""
    claim = _resident_claim(request.resident, claim_id)
    open_request = claim.document_requests.filter(answered_at__isnull=True).first()
    form = DocumentsForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if open_request is None:
            messages.info(request, "该理赔没有待补充的材料。")
            return redirect("claims:claim", claim_id=claim.pk)
        if form.is_valid():
            services.claim_documents_upload(claim=claim, resident=request.resident,
                                            files=form.cleaned_data["documents"], note=form.cleaned_data["note"])
            messages.success(request, "材料已上传，工作人员将尽快审核。")
            return redirect("claims:claim", claim_id=claim.pk)
    payee = payee_services.current_payees([claim.policy.person_id]).get(claim.policy.person_id)
    return render(request, "claims/claim.html", {
        "claim": claim, "stages": claim.stages.all(), "open_request": open_request, "form": form,
        "requests": claim.document_requests.prefetch_related("documents"), "payee": payee,
        "awaits_payee": claim.state == Claim.APPROVED and claim.payable > 0 and payee is None,
        "max_mb": MAX_FILE_BYTES // 1024 // 1024,
    }, status=422 if request.method == "POST" else 200)


@resident_required
def claim_document(request, claim_id, document_id):
    claim = _resident_claim(request.resident, claim_id)
    doc = ClaimDocument.objects.filter(pk=document_id, request__claim=claim).first()
    if doc is None:
        raise Http404
    return storage.download(storage.unsealed(doc.file), filename=doc.original_name)


class PayeeForm(forms.Form):
    person = forms.TypedChoiceField(label="为谁收款", coerce=int)
    kind = forms.ChoiceField(label="账户类型", choices=Payee.KIND_CHOICES, initial=Payee.BANK_CARD,
                             widget=forms.RadioSelect)
    card_number = forms.CharField(label="卡号", max_length=30, widget=forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "cc-number"}),
        help_text="借记卡或社保卡（金融账户）卡号，16至19位数字。")
    phone = forms.CharField(label="银行预留手机号", max_length=11, widget=forms.TextInput(
        attrs={"inputmode": "tel", "autocomplete": "tel"}))

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [
            (person.pk, person.name + ("（本人）" if holder == Payee.SELF else "（未成年人，由监护人本人的卡收款）"))
            for person, holder in people]


@resident_required
def payees(request):
    """The verified accounts claims are paid to: the resident's own, and the minors' he is guardian of."""
    resident = request.resident
    people = payee_services.payee_people(resident)
    current = payee_services.current_payees(p.pk for p, _ in people)
    initial = {"phone": resident.phone or ""}
    if request.GET.get("person", "").isdigit():
        initial["person"] = int(request.GET["person"])
    form = PayeeForm(request.POST or None, people=people, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payee = payee_services.payee_register(resident=resident, person_id=data["person"], kind=data["kind"],
                                                  card_number=data["card_number"], phone=data["phone"])
        except payee_services.PayeeRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"收款账户 {payee.card_masked} 已核验通过并登记，待支付的赔款将支付至该账户。")
            return redirect("claims:payees")
    status = 422 if request.method == "POST" else 200
    return render(request, "claims/payees.html", {
        "form": form, "people": [(person, holder, current.get(person.pk)) for person, holder in people],
        "holder": resident.person}, status=status)


app_name = "claims"
urlpatterns = [
    path("", my_claims, name="my_claims"),
    path("submit/", submit, name="submit"),
    path("payees/", payees, name="payees"),
    path("<int:claim_id>/", claim_detail, name="claim"),
    path("<int:claim_id>/documents/<int:document_id>/", claim_document, name="claim_document"),
    path("submissions/<str:number>/documents/<int:document_id>/", document, name="document"),
]
