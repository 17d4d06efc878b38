"""我的账户: a resident's rights over his personal information — see and download everything held
(JSON and PDF), change the mobile number (proven by an SMS code to the new number), withdraw a
consent after reading what it changes, close the account (a code to the current number)."""

from __future__ import annotations

import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from enrollment import accounts, personal_data, privacy
from enrollment.models import ConsentText, Resident


def account_required(view):
    """Signed in with a resident account (bound to a real name or not: rights do not wait for it)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        resident = Resident.objects.filter(user=request.user, closed_at__isnull=True).select_related("person").first()
        if resident is None:
            raise Http404
        request.resident = resident
        return view(request, *args, **kwargs)

    return wrapper


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@account_required
def account(request):
    resident = request.resident
    consents = []
    for person in privacy.managed_persons(resident):
        in_force = privacy.consents_in_force(person)
        consents.append({"person": person, "himself": person.pk == resident.person_id,
                         "kinds": [(kind, label, in_force.get(kind)) for kind, label in ConsentText.KIND_CHOICES
                                   if kind in privacy.WITHDRAWABLE]})
    return render(request, "enrollment/account/home.html", {
        "resident": resident, "phone": accounts.sms.masked_phone(resident.phone), "consents": consents,
    })


@account_required
def account_data(request, fmt):
    data = personal_data.collect(request.resident)
    if fmt == "json":
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
    elif fmt == "pdf":
        response = HttpResponse(personal_data.render_pdf(data), content_type="application/pdf")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="my-data.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@account_required
@require_POST
def account_code(request):
    """htmx: a code to the new number (changing it) or to the account's own (closing the account)."""
    to_new = request.POST.get("to") == "new"
    phone = request.POST.get("phone", "") if to_new else request.resident.phone
    try:
        accounts.code_send(phone=phone, ip=_ip(request))
    except accounts.AccountError as exc:
        context, status = {"error": (exc.code, exc.message)}, 429 if exc.code == "too_many_codes" else 422
    else:
        context, status = {"sent_to": accounts.sms.masked_phone(phone.strip())}, 200
    context["simulators"] = settings.SIMULATORS_ENABLED
    return render(request, "enrollment/account/login.html#code-status", context, status=status)


@account_required
def phone_change(request):
    context, status = {"errors": {}, "phone": ""}, 200
    if request.method == "POST":
        context["phone"] = request.POST.get("phone", "")
        try:
            privacy.phone_change(resident=request.resident, phone=context["phone"], code=request.POST.get("code", ""),
                                 ip=_ip(request))
        except accounts.AccountError as exc:
            context["errors"], status = {exc.field or "code": (exc.code, exc.message)}, 422
        else:
            messages.success(request, "手机号已更换，今后请用新手机号登录。")
            return redirect("enrollment:account")
    return render(request, "enrollment/account/phone.html", context, status=status)


@account_required
def consent_withdraw(request, person_id, kind):
    person = next((p for p in privacy.managed_persons(request.resident) if p.pk == person_id), None)
    if person is None or kind not in privacy.WITHDRAWABLE:
        raise Http404
    if request.method == "POST":
        count = privacy.consent_withdraw(resident=request.resident, person_id=person_id, kind=kind)
        messages.success(request, "已撤回授权。" if count else "该授权此前已撤回或尚未给出。")
        return redirect("enrollment:account")
    return render(request, "enrollment/account/withdraw.html", {
        "person": person, "kind": kind, "label": dict(ConsentText.KIND_CHOICES)[kind],
        "consequences": privacy.CONSEQUENCES[kind], "in_force": privacy.consents_in_force(person).get(kind)})


@account_required
def account_close(request):
    context, status = {"errors": {}, "phone": accounts.sms.masked_phone(request.resident.phone)}, 200
    if request.method == "POST":
        if request.POST.get("understood") != "1":
            context["errors"], status = {"understood": ("confirm_required", "请确认已了解注销的后果。")}, 422
        else:
            try:
                privacy.account_close(resident=request.resident, code=request.POST.get("code", ""), ip=_ip(request))
            except accounts.AccountError as exc:
                context["errors"], status = {exc.field or "code": (exc.code, exc.message)}, 422
            else:
                auth_logout(request)
                messages.success(request, "账户已注销。保单和理赔记录依法保存；如需再次使用，请重新注册。")
                return redirect("/")
    return render(request, "enrollment/account/close.html", context, status=status)


urlpatterns = [
    path("", account, name="account"),
    path("data.<str:fmt>", account_data, name="account_data"),
    path("code/", account_code, name="account_code"),
    path("phone/", phone_change, name="phone_change"),
    path("consents/<int:person_id>/<slug:kind>/", consent_withdraw, name="consent_withdraw"),
    path("close/", account_close, name="account_close"),
]
