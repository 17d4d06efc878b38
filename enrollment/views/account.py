"""Sign-in with a mobile number and an SMS code; real-name binding."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from enrollment import accounts, identity


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                                  require_https=request.is_secure()):
        return target
    return ""


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def login(request):
    """Phone number → "获取验证码" (htmx) → code → signed in; first time, on to real-name binding."""
    context = {"next": _next(request), "phone": "", "errors": {}, "simulators": settings.SIMULATORS_ENABLED}
    if request.method == "POST":
        phone, code = request.POST.get("phone", ""), request.POST.get("code", "")
        context["phone"] = phone
        try:
            resident = accounts.code_verify(phone=phone, code=code, ip=_ip(request))
        except accounts.AccountError as exc:
            context["errors"] = {exc.field or "code": (exc.code, exc.message)}
            return render(request, "enrollment/account/login.html", context, status=422)
        auth_login(request, resident.user, backend="django.contrib.auth.backends.ModelBackend")
        if resident.person_id is None:
            target = "/account/bind/"
            return redirect(f"{target}?next={context['next']}" if context["next"] else target)
        return redirect(context["next"] or "/")
    return render(request, "enrollment/account/login.html", context)


@require_POST
def send_code(request):
    """htmx: send the code; the partial says where it went or why not."""
    phone = request.POST.get("phone", "")
    try:
        accounts.code_send(phone=phone, ip=_ip(request))
    except accounts.AccountError as exc:
        context = {"error": (exc.code, exc.message)}
        status = 429 if exc.code == "too_many_codes" else 422
    else:
        context = {"sent_to": accounts.sms.masked_phone(phone.strip())}
        status = 200
    context["simulators"] = settings.SIMULATORS_ENABLED
    # htmx swaps 4xx answers too (see templates: hx-target with the partial)
    return render(request, "enrollment/account/login.html#code-status", context, status=status)


@require_POST
def logout(request):
    auth_logout(request)
    return redirect("/")


def _resident(request):
    resident = getattr(request.user, "resident", None)
    if resident is None:
        raise Http404
    return resident


@login_required
def bind(request):
    """Real-name binding: name and ID number checked by the verification service, once per
    account. When another account holds the ID, the owner proves it with this account's mobile
    (three-factor) and takes it over; when that cannot pass, he appeals (``bind_appeal``)."""
    resident = _resident(request)
    context = {"next": _next(request), "errors": {}, "name": "", "id_number": "", "resident": resident,
               "phone": accounts.sms.masked_phone(resident.phone)}
    if request.method == "POST":
        context["name"], context["id_number"] = request.POST.get("name", ""), request.POST.get("id_number", "")
        by_phone = request.POST.get("action") == "phone"
        bind_with = identity.resident_bind_by_phone if by_phone else identity.resident_bind
        try:
            bind_with(resident=resident, name=context["name"], id_number=context["id_number"], ip=_ip(request))
        except accounts.AccountError as exc:
            context["errors"] = {exc.field or "id_number": (exc.code, exc.message)}
            context["offer_phone"] = exc.code in ("person_bound_elsewhere", "id_checks_exhausted")
            context["offer_appeal"] = exc.code == "phone_mismatch"
            status = 429 if exc.code in ("too_many_checks", "id_checks_exhausted") else 422
            return render(request, "enrollment/account/bind.html", context, status=status)
        messages.success(request, "实名认证成功。" + ("原绑定该身份证号的账户已解除绑定。" if by_phone else ""))
        return redirect(context["next"] or "/")
    return render(request, "enrollment/account/bind.html", context)


class AppealForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=30)
    id_number = forms.CharField(label="身份证号", max_length=18)
    photo = forms.FileField(label="身份证人像面照片", help_text="JPG、PNG 或 PDF，不超过10MB。仅用于本次审核，加密保存。")
    explanation = forms.CharField(label="情况说明", max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="例如：手机号登记在家人名下。")


@login_required
def bind_appeal(request):
    """An appeal to customer service, with a photo of the ID card, for an owner whose mobile is
    registered in another name."""
    resident = _resident(request)
    form = AppealForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            appeal = identity.appeal_open(resident=resident, **form.cleaned_data)
        except accounts.AccountError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"申诉已提交（编号{appeal.number}），客服将在3个工作日内审核，结果将以短信通知。")
            return redirect("enrollment:bind_appeal")
    if form.errors:
        status = 422
    return render(request, "enrollment/account/appeal.html", {
        "form": form, "appeals": resident.identity_appeals.all()[:10]}, status=status)


urlpatterns = [
    path("login/", login, name="login"),
    path("login/code/", send_code, name="send_code"),
    path("logout/", logout, name="logout"),
    path("bind/", bind, name="bind"),
    path("bind/appeal/", bind_appeal, name="bind_appeal"),
]
