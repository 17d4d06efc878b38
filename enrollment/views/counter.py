"""The service-point counter (柜面): staff with the 柜面经办 role open a cashier shift, enroll residents
who have no smartphone, print the e-policy, and close the shift. Thin views over
``enrollment.counter``; anyone else is sent to the staff sign-in or refused."""

from __future__ import annotations

import logging
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from enrollment import counter
from enrollment.models import CounterEnrollment, Plan, ProductVersion, ServicePoint
from enrollment.organizations import Refused

logger = logging.getLogger(__name__)
PERMISSION = "enrollment.add_counterenrollment"


def counter_staff(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
        if not request.user.is_staff or not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _refused(form: forms.Form, refused: Refused) -> None:
    form.add_error(refused.field if refused.field in form.fields else None, refused.message)


class ShiftOpenForm(forms.Form):
    service_point = forms.ModelChoiceField(ServicePoint.objects.filter(active=True), label="服务网点")


class ShiftCloseForm(forms.Form):
    cash_counted = forms.DecimalField(label="实点现金（元）", min_value=0, max_digits=12, decimal_places=2)
    note = forms.CharField(label="结班说明", max_length=200, required=False, help_text="现金与应收不符时必填")


class EnrollForm(forms.Form):
    plan = forms.ModelChoiceField(Plan.objects.none(), label="保障方案")
    name = forms.CharField(label="姓名", max_length=30)
    id_number = forms.CharField(label="身份证号", max_length=18)
    phone = forms.CharField(label="手机号（可留空）", max_length=11, required=False,
                            help_text="填写后发送出单短信；居民日后可用此号码登录查看保单")
    id_card_checked = forms.BooleanField(label="已核验居民身份证原件，人证一致", required=False)
    consent_scan = forms.FileField(label="签字授权书扫描件", required=False,
                                   help_text="居民在纸质《投保告知及个人信息处理授权书》上签字后扫描上传（PDF、JPG 或 PNG，不超过10MB）")
    method = forms.ChoiceField(label="收款方式", choices=list(counter.METHODS.items()), widget=forms.RadioSelect)
    card_reference = forms.CharField(label="刷卡参考号", max_length=32, required=False, help_text="刷卡收款时填写POS签购单上的参考号")

    def __init__(self, *args, program=None, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["plan"].queryset = Plan.objects.filter(
            version__program=program, version__status=ProductVersion.PUBLISHED, version__sales_start__lte=today,
            version__sales_end__gte=today).select_related("version")
        self.fields["plan"].label_from_instance = lambda p: f"{p.version.name} · {p.name}"


@counter_staff
def counter_home(request):
    shift = counter.open_shift(request.user)
    context = {"shift": shift, "open_form": ShiftOpenForm(), "close_form": ShiftCloseForm()}
    if shift is not None:
        context["totals"] = counter.shift_totals(shift)
        context["enrollments"] = shift.enrollments.select_related("order").prefetch_related(
            "order__policies__person")
    return render(request, "enrollment/counter/home.html", context)


@counter_staff
@require_POST
def counter_shift_open(request):
    form = ShiftOpenForm(request.POST)
    if form.is_valid():
        try:
            counter.shift_open(staff=request.user, service_point=form.cleaned_data["service_point"])
        except Refused as refused:
            messages.error(request, refused.message)
    else:
        messages.error(request, "请选择服务网点。")
    return redirect("enrollment:counter_home")


@counter_staff
@require_POST
def counter_shift_close(request):
    shift = counter.open_shift(request.user)
    form = ShiftCloseForm(request.POST)
    if shift is None:
        messages.error(request, "没有未结班的班次。")
    elif not form.is_valid():
        messages.error(request, "请填写实点现金金额。")
    else:
        try:
            closed = counter.shift_close(shift=shift, staff=request.user, **form.cleaned_data)
        except Refused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"已结班：应收现金{closed.cash_expected}元，实点{closed.cash_counted}元，"
                                      f"刷卡{closed.card_total}元。")
    return redirect("enrollment:counter_home")


@counter_staff
def counter_enroll(request):
    shift = counter.open_shift(request.user)
    if shift is None:
        messages.error(request, "请先开班再办理收款。")
        return redirect("enrollment:counter_home")
    form = EnrollForm(request.POST or None, request.FILES or None, program=shift.service_point.program)
    if request.method == "POST" and form.is_valid():
        try:
            order = counter.enroll(shift=shift, staff=request.user, ip_address=request.META.get("REMOTE_ADDR"),
                                   **form.cleaned_data)
        except Refused as refused:
            _refused(form, refused)
        else:
            return redirect("enrollment:counter_enrollment", number=order.number)
    return render(request, "enrollment/counter/enroll.html", {"form": form, "shift": shift},
                  status=422 if form.errors else 200)


def _enrollment(request, number) -> CounterEnrollment:
    """An enrollment made at the staff member's own service point (logged: a staff read)."""
    record = CounterEnrollment.objects.select_related("order__version__program", "shift__service_point").filter(
        order__number=number).first()
    own_points = set(request.user.cashier_shifts.values_list("service_point_id", flat=True))
    if record is None or (record.shift.service_point_id not in own_points and not request.user.is_superuser):
        raise Http404
    logger.info("counter staff %s read enrollment %s", request.user, number)
    return record


@counter_staff
def counter_enrollment(request, number):
    """The printable e-policy of a counter enrollment."""
    record = _enrollment(request, number)
    policy = record.order.policies.select_related("person", "plan", "version__program").get()
    return render(request, "enrollment/counter/enrollment.html", {"record": record, "policy": policy})


@counter_staff
def counter_policy_pdf(request, number):
    from enrollment.epolicy import render_pdf

    record = _enrollment(request, number)
    policy = record.order.policies.select_related("person", "plan", "version__program").get()
    response = HttpResponse(render_pdf(policy), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{policy.number}.pdf"'
    return response


urlpatterns = [
    path("counter/", counter_home, name="counter_home"),
    path("counter/shift/open/", counter_shift_open, name="counter_shift_open"),
    path("counter/shift/close/", counter_shift_close, name="counter_shift_close"),
    path("counter/enroll/", counter_enroll, name="counter_enroll"),
    path("counter/enrollments/<str:number>/", counter_enrollment, name="counter_enrollment"),
    path("counter/enrollments/<str:number>/policy.pdf", counter_policy_pdf, name="counter_policy_pdf"),
]
