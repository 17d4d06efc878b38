"""Buying for others: organizations, campaigns, beneficiary lists, their orders and receipts.

Thin views over ``enrollment.organizations``; the list page polls its progress partial (htmx)
while the worker validates, then shows the report, where each row is fixed or dropped in place.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from enrollment import billing, epolicy, lists, organizations, selectors
from enrollment.models import (
    BeneficiaryList,
    BeneficiaryRow,
    Campaign,
    CampaignKind,
    HardshipStatus,
    Order,
    Organization,
    OrganizationMember,
    Plan,
    ProductVersion,
    TargetRule,
)
from enrollment.views.csp import payment_forms
from enrollment.views.purchase import resident_required
from portal import tabular
from portal.shortcuts import get_object_or_404

ROWS_PER_PAGE = 100


def _plans_on_sale():
    today = timezone.localdate()
    return Plan.objects.filter(version__status=ProductVersion.PUBLISHED, version__sales_start__lte=today,
                               version__sales_end__gte=today).select_related("version__program").order_by(
        "version__program__name", "position")


def _plan_label(plan: Plan) -> str:
    from portal.money import yuan

    price = f"{yuan(plan.price)}/人" if plan.price else "按年龄段定价"
    return f"{plan.version.name} · {plan.name}（{price}）"


def _member_org(request, pk) -> tuple[Organization, OrganizationMember]:
    organization = get_object_or_404(Organization, pk=pk)
    member = organizations.membership(request.resident, organization)
    if member is None:
        raise Http404
    return organization, member


def _refused(form: forms.Form, refused: organizations.Refused) -> None:
    form.add_error(refused.field if refused.field in form.fields else None, refused.message)


# --- Organizations ------------------------------------------------------------------------------------


class RegisterForm(forms.Form):
    name = forms.CharField(label="单位名称", max_length=100)
    credit_code = forms.CharField(label="统一社会信用代码", max_length=30)
    kind = forms.ChoiceField(label="单位类型", choices=Organization.KIND_CHOICES)
    contact_name = forms.CharField(label="联系人", max_length=50)
    contact_phone = forms.CharField(label="联系电话", max_length=20)
    invoice_title = forms.CharField(label="发票抬头", max_length=100, required=False, help_text="留空则与单位名称相同")


@resident_required
def org_home(request):
    return render(request, "enrollment/org/home.html", {
        "organizations": selectors.member_organizations(request.resident),
        "campaigns": selectors.campaigns_with_progress(Campaign.objects.filter(
            public=True, kind=CampaignKind.XIANAI, organizer__isnull=True)),
        "lists": BeneficiaryList.objects.filter(uploaded_by=request.resident, organization__isnull=True)[:20],
        "invitations": organizations.invitations_for(request.resident),
        "donor_cap": settings.LIST_ROWS_PER_DONOR_DAY,
    })


@resident_required
@require_POST
def invitation_answer(request, invitation_id):
    """The invited account accepts (and becomes a member) or declines."""
    accept = request.POST.get("answer") == "accept"
    try:
        member = organizations.invitation_answer(invitation_id=invitation_id, resident=request.resident, accept=accept)
    except organizations.Refused:
        raise Http404 from None  # not an open invitation to this account's number
    if member is not None:
        return redirect("enrollment:org_detail", pk=member.organization_id)
    return redirect("enrollment:org_home")


@resident_required
def org_register(request):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = organizations.organization_register(resident=request.resident, **form.cleaned_data)
        except organizations.Refused as refused:
            _refused(form, refused)
        else:
            return redirect("enrollment:org_detail", pk=organization.pk)
    return render(request, "enrollment/org/register.html", {"form": form}, status=422 if form.errors else 200)


class MemberForm(forms.Form):
    phone = forms.CharField(label="手机号", max_length=11)
    role = forms.ChoiceField(label="角色", choices=OrganizationMember.ROLE_CHOICES)


@resident_required
def org_detail(request, pk):
    organization, member = _member_org(request, pk)
    form = MemberForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            invitation = organizations.member_invite(organization=organization, by=request.resident,
                                                     **form.cleaned_data)
        except organizations.Refused as refused:
            _refused(form, refused)
            status = 422
        else:
            messages.success(request, f"已向{invitation.phone_masked}发送邀请短信。对方用该手机号登录后，在“单位投保”页面"
                                      "接受邀请即可成为经办人（7天内有效）。")
            return redirect("enrollment:org_detail", pk=pk)
    elif request.method == "POST":
        status = 422
    return render(request, "enrollment/org/detail.html", {
        "organization": organization, "member": member, "member_form": form,
        "members": organization.members.select_related("resident"),
        "invitations": organization.invitations.filter(answered_at__isnull=True, expires_at__gt=timezone.now()),
        "campaigns": selectors.campaigns_with_progress(organization.campaigns.all()),
        "lists": organization.lists.select_related("order", "campaign")[:50],
        "tax_form": _tax_form(organization), "is_manager": member.role == OrganizationMember.MANAGER,
        "payroll_form": PayrollForm(initial={"year": timezone.localdate().year}),
        "payrolls": organization.payrolls.order_by("-year")[:3],
    }, status=status)


@resident_required
@require_POST
def member_remove(request, pk, member_id):
    organization, _ = _member_org(request, pk)
    try:
        organizations.member_remove(organization=organization, by=request.resident, member_id=member_id)
    except organizations.Refused as refused:
        messages.error(request, refused.message)
    return redirect("enrollment:org_detail", pk=pk)


@resident_required
@require_POST
def invitation_revoke(request, pk, invitation_id):
    organization, _ = _member_org(request, pk)
    try:
        organizations.invitation_revoke(organization=organization, by=request.resident, invitation_id=invitation_id)
    except organizations.Refused as refused:
        messages.error(request, refused.message)
    return redirect("enrollment:org_detail", pk=pk)


class TaxForm(forms.Form):
    payroll = forms.DecimalField(label="本年度职工工资总额（元）", min_value=0, decimal_places=2, max_digits=14)
    spent = forms.DecimalField(label="本年度已支付的补充医疗保险费（元）", min_value=0, decimal_places=2, max_digits=14,
                               initial=Decimal("0.00"))
    plan = forms.ModelChoiceField(label="拟投保方案", queryset=Plan.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = _plans_on_sale()
        self.fields["plan"].label_from_instance = _plan_label


def _tax_form(organization) -> TaxForm:
    """The tax helper, filled with this year's declared payroll and the group premiums paid so far."""
    year = timezone.localdate().year
    declared = organization.payrolls.filter(year=year).first()
    return TaxForm(initial={"payroll": declared.amount if declared else None,
                            "spent": selectors.group_premiums(organization=organization, year=year)})


class PayrollForm(forms.Form):
    year = forms.IntegerField(label="纳税年度", min_value=2000, max_value=2100)
    amount = forms.DecimalField(label="职工工资总额（元）", min_value=Decimal("0.01"), decimal_places=2, max_digits=16)


@resident_required
@require_POST
def org_payroll(request, pk):
    """A manager declares the year's payroll: the base of the 5% limit on the premium receipts."""
    from django.contrib import messages

    organization, _ = _member_org(request, pk)
    form = PayrollForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
        return redirect("enrollment:org_detail", pk=pk)
    try:
        organizations.payroll_declare(organization=organization, by=request.resident, **form.cleaned_data)
    except organizations.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"已申报{form.cleaned_data['year']}年度职工工资总额。")
    return redirect("enrollment:org_detail", pk=pk)


@resident_required
def org_tax(request, pk):
    """The employer's 5%-of-payroll deductible room (htmx partial of the organization page)."""
    _member_org(request, pk)
    form = TaxForm(request.GET or None)
    result = None
    if form.is_valid():
        plan = form.cleaned_data["plan"]
        result = organizations.tax_room(payroll=form.cleaned_data["payroll"], spent=form.cleaned_data["spent"],
                                        price=plan.price if plan and plan.price else None)
    return render(request, "enrollment/org/detail.html#tax", {"tax_form": form, "tax": result,
                                                              "organization": {"pk": pk}},
                  status=422 if form.errors else 200)


class CampaignForm(forms.Form):
    kind = forms.ChoiceField(label="活动类型", choices=CampaignKind.choices)
    name = forms.CharField(label="活动名称", max_length=100)
    plan = forms.ModelChoiceField(label="产品方案", queryset=Plan.objects.none())
    target_group = forms.CharField(label="帮扶对象（说明）", max_length=100)
    target_rule = forms.ChoiceField(label="资助对象规则", choices=TargetRule.choices, widget=forms.RadioSelect,
                                    help_text="敬孝心：老年人；献爱心：困难群体；筑同心：服务对象或困难群体；暖人心：困难群体或职工、成员")
    min_age = forms.IntegerField(label="最低年龄（周岁）", min_value=0, max_value=120, required=False,
                                 help_text="“老年人”规则填写，不低于60周岁")
    hardship_statuses = forms.MultipleChoiceField(label="困难身份", choices=HardshipStatus.choices, required=False,
                                                  widget=forms.CheckboxSelectMultiple,
                                                  help_text="“困难群体”规则选择：医保登记为其中任一身份即可")
    target_count = forms.IntegerField(label="目标人数", min_value=1, max_value=10_000_000)
    budget = forms.DecimalField(label="预算（元）", min_value=0, decimal_places=2, max_digits=12)
    description = forms.CharField(label="活动说明", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = _plans_on_sale()
        self.fields["plan"].label_from_instance = _plan_label


@resident_required
def campaign_new(request, pk):
    organization, _ = _member_org(request, pk)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = organizations.campaign_create(organization=organization, by=request.resident,
                                                     **form.cleaned_data)
        except organizations.Refused as refused:
            _refused(form, refused)
        else:
            return redirect("enrollment:campaign_detail", slug=campaign.slug)
    return render(request, "enrollment/org/campaign_new.html", {"form": form, "organization": organization},
                  status=422 if form.errors else 200)


# --- Campaigns (public) -------------------------------------------------------------------------------


def campaign_list(request):
    campaigns = selectors.campaigns_with_progress(Campaign.objects.filter(public=True))
    return render(request, "enrollment/org/campaigns.html", {"campaigns": campaigns})


def campaign_detail(request, slug):
    campaign = get_object_or_404(selectors.campaigns_with_progress(), slug=slug)
    if not campaign.public and not (request.user.is_authenticated and hasattr(request.user, "resident") and (
            campaign.organizer_id and organizations.membership(request.user.resident, campaign.organizer))):
        raise Http404
    return render(request, "enrollment/org/campaign.html", {
        "campaign": campaign,
        "people_percent": selectors.progress_percent(campaign.people, campaign.target_count),
        "money_percent": selectors.progress_percent(campaign.given, campaign.budget),
        "individuals_welcome": campaign.kind == CampaignKind.XIANAI and campaign.organizer_id is None,
    })


# --- Beneficiary lists --------------------------------------------------------------------------------


class UploadForm(forms.Form):
    plan = forms.ModelChoiceField(label="产品方案", queryset=Plan.objects.none(), required=False)
    file = forms.FileField(label="参保名单", help_text="CSV（UTF-8 或 GBK）或 XLSX，按模板填写“姓名、身份证号、手机号”，"
                                                      "最多50,000行、20MB。身份证号列请设为文本格式。")
    members_declared = forms.BooleanField(label="本单位申报：名单人员均为本单位职工、成员或所联系服务对象", required=False)

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = _plans_on_sale()
        self.fields["plan"].label_from_instance = _plan_label
        if campaign is None:
            self.fields["plan"].required = True
        else:
            del self.fields["plan"]
        if campaign is None or campaign.target_rule != TargetRule.MEMBERS:
            del self.fields["members_declared"]


@resident_required
def list_new(request):
    organization = campaign = None
    if request.GET.get("org"):
        organization, _ = _member_org(request, request.GET["org"])
    if request.GET.get("campaign"):
        campaign = get_object_or_404(Campaign, slug=request.GET["campaign"])
    form = UploadForm(request.POST or None, request.FILES or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > lists.MAX_BYTES:
            form.add_error("file", "文件超过20MB，请拆分后分批上传。")
        else:
            try:
                beneficiaries = lists.list_upload(
                    resident=request.resident, organization=organization, campaign=campaign,
                    plan=form.cleaned_data.get("plan") or (campaign.plan if campaign else None),
                    filename=upload.name, data=upload.read(),
                    members_declared=form.cleaned_data.get("members_declared", False))
            except organizations.Refused as refused:
                _refused(form, refused)
            else:
                return redirect("enrollment:list_detail", number=beneficiaries.number)
    return render(request, "enrollment/org/list_new.html",
                  {"form": form, "organization": organization, "campaign": campaign},
                  status=422 if form.errors else 200)


def list_template(request, fmt):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    response = HttpResponse(lists.template_file(fmt), content_type="text/csv; charset=utf-8" if fmt == "csv"
                            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="beneficiary-template.{fmt}"'
    return response


def _own_list(request, number) -> BeneficiaryList:
    beneficiaries = get_object_or_404(BeneficiaryList.objects.select_related(
        "organization", "campaign", "plan__version__program", "order"), number=number)
    if beneficiaries.organization_id:
        if organizations.membership(request.resident, beneficiaries.organization) is None:
            raise Http404
    elif beneficiaries.uploaded_by_id != request.resident.pk:
        raise Http404
    return beneficiaries


def _list_context(request, beneficiaries):
    shown = request.GET.get("status", "")
    rows = beneficiaries.rows.select_related("policy").order_by("row_number")
    if shown in dict(BeneficiaryRow.STATUS_CHOICES):
        rows = rows.filter(status=shown)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    member = (organizations.membership(request.resident, beneficiaries.organization)
              if beneficiaries.organization_id else None)
    counts, valid_amount = selectors.list_summary(beneficiaries)
    return {
        "list": beneficiaries, "counts": counts, "page": page, "shown": shown,
        "statuses": BeneficiaryRow.STATUS_CHOICES, "bank_account": settings.BANK_TRANSFER_ACCOUNT,
        "today": timezone.localdate(),
        "may_confirm": member is None or member.role == OrganizationMember.MANAGER,
        "valid_amount": valid_amount,
        "confirm_error": beneficiaries.failure if beneficiaries.status == BeneficiaryList.VALIDATED else "",
    }


def _with_progress(beneficiaries: BeneficiaryList) -> BeneficiaryList:
    """While the order is being made, the progress bar counts the valid rows the task has done."""
    if beneficiaries.status == BeneficiaryList.CONFIRMING:
        from django.core.cache import cache

        done, total = cache.get(lists.confirm_progress_key(beneficiaries.pk)) or (0, 0)
        beneficiaries.processed_rows, beneficiaries.total_rows = done, total
    return beneficiaries


@payment_forms
@resident_required
def list_detail(request, number):
    beneficiaries = _own_list(request, number)
    order = beneficiaries.order
    if order is not None and order.status == Order.PENDING and order.payments.filter(status="created").exists():
        billing.order_refresh(order=order)  # back from the cashier: ask the provider, a notification may be late
        beneficiaries = _own_list(request, number)
    return render(request, "enrollment/org/list.html", _list_context(request, _with_progress(beneficiaries)))


@resident_required
def list_progress(request, number):
    """htmx poll while the worker validates or makes the order: the progress bar, then (once done)
    the whole page."""
    beneficiaries = _own_list(request, number)
    if beneficiaries.status not in (BeneficiaryList.VALIDATING, BeneficiaryList.CONFIRMING):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "enrollment/org/list.html#progress", {"list": _with_progress(beneficiaries)})


@resident_required
@require_POST
def row_edit(request, number, row_id):
    beneficiaries = _own_list(request, number)
    action = request.POST.get("action", "fix")
    error = None
    try:
        if action in ("drop", "restore"):
            row = lists.row_drop(beneficiaries=beneficiaries, row_id=row_id, by=request.resident,
                                         drop=action == "drop")
        else:
            row = lists.row_fix(beneficiaries=beneficiaries, row_id=row_id, by=request.resident,
                                        name=request.POST.get("name", ""), id_number=request.POST.get("id_number", ""),
                                        phone=request.POST.get("phone", ""))
    except organizations.Refused as refused:
        error = refused.message
        row = get_object_or_404(BeneficiaryRow, list=beneficiaries, pk=row_id)
    except BeneficiaryRow.DoesNotExist:
        raise Http404 from None
    context = {"list": beneficiaries, "row": row, "row_error": error}
    if request.htmx:
        # The row, then the list's figures and confirm button out of band (in <template>, which
        # htmx unwraps, so that they parse beside a table row).
        counts, valid_amount = selectors.list_summary(beneficiaries)
        figures = {"list": beneficiaries, "counts": counts, "valid_amount": valid_amount, "oob": True}
        body = (render_to_string("enrollment/org/list.html#row", context, request)
                + "<template>" + render_to_string("enrollment/org/list.html#counts", figures, request)
                + render_to_string("enrollment/org/list.html#confirm", figures, request) + "</template>")
        return HttpResponse(body, status=422 if error else 200)
    return redirect("enrollment:list_detail", number=number)


@resident_required
@require_POST
def row_cancel(request, number, row_id):
    """The payer cancels one insured person's policy before cover starts (refund to the payer)."""
    beneficiaries = _own_list(request, number)
    try:
        row = lists.row_cancel(beneficiaries=beneficiaries, row_id=row_id, by=request.resident)
    except organizations.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"第{row.row_number}行（{row.name}）已退保，保费退回出资方。")
    return redirect("enrollment:list_detail", number=number)


@resident_required
def list_report(request, number):
    beneficiaries = _own_list(request, number)
    data = tabular.to_xlsx(selectors.REPORT_HEADER, selectors.list_report_rows(beneficiaries), title="校验结果")
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{beneficiaries.number}-report.xlsx"'
    return response


@resident_required
@require_POST
def list_confirm(request, number):
    beneficiaries = _own_list(request, number)
    try:
        lists.list_confirm_start(beneficiaries=beneficiaries, by=request.resident,
                                 declared=request.POST.get("declared") == "1",
                                 ip_address=request.META.get("REMOTE_ADDR"))
    except organizations.Refused as refused:
        context = _list_context(request, beneficiaries)
        context["confirm_error"] = refused.message
        return render(request, "enrollment/org/list.html", context, status=422)
    return redirect("enrollment:list_detail", number=number)


@resident_required
@require_POST
def list_revalidate(request, number):
    beneficiaries = _own_list(request, number)
    lists.list_revalidate(beneficiaries=beneficiaries, by=request.resident)
    return redirect("enrollment:list_detail", number=number)


@payment_forms
@resident_required
@require_POST
def list_pay(request, number):
    beneficiaries = _own_list(request, number)
    if beneficiaries.order is None:
        raise Http404
    try:
        payment = billing.payment_start(
            order=beneficiaries.order, method="online", channel=request.POST.get("channel", "wechatpay"),
            return_url=request.build_absolute_uri(reverse("enrollment:list_detail", args=[number])),
            client_ip=request.META.get("REMOTE_ADDR", ""))
    except billing.PaymentRefused as refused:
        context = _list_context(request, beneficiaries)
        context["pay_error"] = refused.message
        return render(request, "enrollment/org/list.html", context, status=422)
    return redirect(payment.pay_url)


@resident_required
def order_receipt(request, number):
    order = get_object_or_404(Order.objects.select_related("organization", "campaign", "version__program"),
                              number=number, status=Order.PAID)
    allowed = (organizations.membership(request.resident, order.organization) is not None if order.organization_id
               else order.resident_id == request.resident.pk and order.campaign_id is not None)
    if not allowed:
        raise Http404
    response = HttpResponse(epolicy.render_receipt(order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{order.number}.pdf"'
    return response


urlpatterns = [
    path("org/", org_home, name="org_home"),
    path("org/register/", org_register, name="org_register"),
    path("org/<int:pk>/", org_detail, name="org_detail"),
    path("org/<int:pk>/members/<int:member_id>/remove/", member_remove, name="member_remove"),
    path("org/<int:pk>/invitations/<int:invitation_id>/revoke/", invitation_revoke, name="invitation_revoke"),
    path("org/invitations/<int:invitation_id>/", invitation_answer, name="invitation_answer"),
    path("org/<int:pk>/tax/", org_tax, name="org_tax"),
    path("org/<int:pk>/payroll/", org_payroll, name="org_payroll"),
    path("org/<int:pk>/campaigns/new/", campaign_new, name="campaign_new"),
    path("campaigns/", campaign_list, name="campaign_list"),
    path("campaigns/<slug:slug>/", campaign_detail, name="campaign_detail"),
    path("lists/new/", list_new, name="list_new"),
    path("lists/template.<str:fmt>", list_template, name="list_template"),
    path("lists/<str:number>/", list_detail, name="list_detail"),
    path("lists/<str:number>/progress/", list_progress, name="list_progress"),
    path("lists/<str:number>/rows/<int:row_id>/", row_edit, name="row_edit"),
    path("lists/<str:number>/rows/<int:row_id>/cancel/", row_cancel, name="row_cancel"),
    path("lists/<str:number>/report.xlsx", list_report, name="list_report"),
    path("lists/<str:number>/confirm/", list_confirm, name="list_confirm"),
    path("lists/<str:number>/revalidate/", list_revalidate, name="list_revalidate"),
    path("lists/<str:number>/pay/", list_pay, name="list_pay"),
    path("orders/<str:number>/receipt.pdf", order_receipt, name="order_receipt"),
]
