"""The dashboards (bureau, insurers) and the resident's customer-service tickets.

The filter form re-renders the figures partial (htmx); every table exports to CSV or XLSX with
small cells suppressed. Charts are inline SVG drawn on the server: no script, no CDN.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from claims.models import Claim
from claims.selectors import resident_claims
from enrollment.models import Organization, Policy, ProductVersion
from enrollment.selectors import member_organizations, resident_policies
from enrollment.views.purchase import resident_required
from portal import storage, tabular
from portal.shortcuts import get_object_or_404
from supervision import selectors, services
from supervision.models import Ticket, TicketMessage


def dashboard_viewer(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
        programs = selectors.visible_programs(request.user)
        if not programs.exists():
            raise PermissionDenied
        request.programs = programs
        return view(request, *args, **kwargs)

    return wrapper


def _chosen(request) -> ProductVersion:
    """The filtered product version among the viewer's programs (default: the newest)."""
    versions = ProductVersion.objects.filter(program__in=request.programs, status=ProductVersion.PUBLISHED
                                             ).select_related("program").order_by("-year", "program__name")
    chosen = versions.filter(pk=request.GET.get("version")).first() if request.GET.get("version", "").isdigit() \
        else None
    if chosen is None:
        chosen = versions.first()
    if chosen is None:
        raise Http404
    return chosen, versions


@dashboard_viewer
def dashboard(request):
    version, versions = _chosen(request)
    context = {
        "version": version, "versions": versions, **selectors.dashboard_figures(version),
        "pools": selectors.pools(version.program), "service": selectors.service(timezone.now()),
        "tables": selectors.TABLES,
    }
    template = "supervision/dashboard.html#figures" if request.htmx else "supervision/dashboard.html"
    return render(request, template, context)


@dashboard_viewer
def export(request, name, fmt):
    if name not in selectors.TABLES or fmt not in ("csv", "xlsx"):
        raise Http404
    version, _ = _chosen(request)
    header, rows = selectors.table(name, version)
    filename = f"{version.slug}-{name}.{fmt}"
    if fmt == "csv":
        return HttpResponse(tabular.to_csv(header, rows), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return HttpResponse(tabular.to_xlsx(header, rows, title=selectors.TABLES[name]), headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="{filename}"'})


# --- The resident's tickets -------------------------------------------------------------------------------


class TicketForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=Ticket.KIND_CHOICES)
    subject = forms.CharField(label="标题", max_length=100)
    policy = forms.ModelChoiceField(label="相关保单（可不选）", queryset=Policy.objects.none(), required=False)
    claim = forms.ModelChoiceField(label="相关理赔（理赔争议请选择）", queryset=Claim.objects.none(), required=False)
    organization = forms.ModelChoiceField(label="代表单位提交（可不选）", queryset=Organization.objects.none(),
                                          required=False)
    body = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 5}), max_length=5000)
    attachment = forms.FileField(label="附件（可不传）", required=False, help_text="JPG、PNG 或 PDF，不超过10MB。")

    def __init__(self, *args, resident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = resident_policies(resident)
        claims = resident_claims(resident)
        self.fields["claim"].queryset = Claim.objects.filter(pk__in=[c.pk for c in claims]).select_related(
            "settlement", "policy__person")
        self.fields["claim"].label_from_instance = lambda c: (
            f"{c.policy.person.name} · {c.settlement.hospital_name} · {c.settlement.admission_date:%Y-%m-%d} · "
            f"赔付{c.payout}元")
        organizations = member_organizations(resident)
        if organizations.exists():
            self.fields["organization"].queryset = organizations
        else:
            del self.fields["organization"]


class ReplyForm(forms.Form):
    body = forms.CharField(label="回复", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    attachment = forms.FileField(label="附件（可不传）", required=False)


def _add_error(form, refused: services.Refused) -> None:
    form.add_error(refused.field if refused.field in form.fields else None, refused.message)


@resident_required
def tickets(request):
    # A link from 我的理赔 (``?kind=dispute&claim=…``) fills the form in.
    initial = {k: request.GET[k] for k in ("kind", "claim", "policy") if request.GET.get(k, "").isalnum()}
    form = TicketForm(request.POST or None, request.FILES or None, resident=request.resident, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(resident=request.resident, **form.cleaned_data)
        except services.Refused as refused:
            _add_error(form, refused)
        else:
            return redirect("supervision:ticket", number=ticket.number)
    return render(request, "supervision/tickets.html", {
        "tickets": selectors.resident_tickets(request.resident), "form": form},
        status=422 if form.errors else 200)


@resident_required
def ticket(request, number):
    item = get_object_or_404(selectors.resident_tickets(request.resident), number=number)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_reply(ticket=item, resident=request.resident, **form.cleaned_data)
        except services.Refused as refused:
            _add_error(form, refused)
        else:
            return redirect("supervision:ticket", number=number)
    return render(request, "supervision/ticket.html", {"ticket": item, "form": form,
                                                       "messages_": item.messages.select_related("from_staff", "from_resident__person")},
                  status=422 if form.errors else 200)


@resident_required
def attachment(request, number, message_id):
    item = get_object_or_404(selectors.resident_tickets(request.resident), number=number)
    message = get_object_or_404(TicketMessage, pk=message_id, ticket=item)
    if not message.attachment:
        raise Http404
    return storage.download(storage.unsealed(message.attachment), filename=message.attachment_name)


app_name = "supervision"
urlpatterns = [
    path("supervision/", dashboard, name="dashboard"),
    path("supervision/export/<slug:name>.<str:fmt>", export, name="export"),
    path("service/", tickets, name="tickets"),
    path("service/<str:number>/", ticket, name="ticket"),
    path("service/<str:number>/attachments/<int:message_id>/", attachment, name="attachment"),
]
