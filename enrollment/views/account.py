"""Sign-in with a mobile number and an SMS code; real-name binding."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from enrollment import accounts


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
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


@login_required
def bind(request):
    """Real-name binding: name and ID number, once per account."""
    resident = getattr(request.user, "resident", None)
    if resident is None:
        raise Http404
    context = {"next": _next(request), "errors": {}, "name": "", "id_number": "", "resident": resident}
    if request.method == "POST":
        context["name"], context["id_number"] = request.POST.get("name", ""), request.POST.get("id_number", "")
        try:
            accounts.resident_bind(resident=resident, name=context["name"], id_number=context["id_number"])
        except accounts.AccountError as exc:
            context["errors"] = {exc.field or "id_number": (exc.code, exc.message)}
            return render(request, "enrollment/account/bind.html", context, status=422)
        return redirect(context["next"] or "/")
    return render(request, "enrollment/account/bind.html", context)


urlpatterns = [
    path("login/", login, name="login"),
    path("login/code/", send_code, name="send_code"),
    path("logout/", logout, name="logout"),
    path("bind/", bind, name="bind"),
]
