"""The second factor for every staff account (issue 13, ASVS L3-like).

A staff account signs in with its password on the admin's sign-in page, then proves a second factor
before any staff page answers: a TOTP code from an authenticator app (django-otp), a passkey where the
browser has one (django-otp-webauthn), or one of its recovery codes (django-otp static tokens, each
usable once). An account with no confirmed device is sent to enrol on its first sign-in: it scans a QR
code, confirms one code and is shown ten recovery codes once. ``manage.py staff_devices_reset`` removes
a member's devices (a lost phone): the next sign-in enrols again, and a session verified with a
removed device is no longer verified.

``StaffSecondFactorMiddleware`` sends a signed-in staff account whose session is not verified to the
second-factor page from every URL but that page, enrolment, the passkey ceremony and sign-out; the
admin site (``StaffAdminSite``) also refuses such a session itself.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.helpers import WebAuthnHelper as _WebAuthnHelper

RECOVERY_CODES = 10
TOTP_NAME = "身份验证器"
RECOVERY_NAME = "恢复码"
# Routes an unverified staff session may reach: the second-factor step, enrolment, the passkey
# ceremony (whose registration django-otp-webauthn refuses to an enrolled, unverified account), signing out.
OPEN_NAMESPACES = {"otp_webauthn"}
OPEN_VIEWS = {"staff_otp:verify", "staff_otp:setup", "admin:logout", "enrollment:logout"}


class WebAuthnHelper(_WebAuthnHelper):
    """Outside production a passkey ceremony runs on whatever host the request came to."""

    def get_relying_party_domain(self) -> str:
        if settings.PRODUCTION:
            return super().get_relying_party_domain()
        return self.request.get_host().rsplit(":", 1)[0].strip("[]")

    def get_allowed_origins(self) -> list[str]:
        origins = list(super().get_allowed_origins())
        if not settings.PRODUCTION:
            origins.append(f"{self.request.scheme}://{self.request.get_host()}")
        return origins


class StaffAdminSite(admin.AdminSite):
    site_header = "惠民保管理后台"
    site_title = "惠民保管理后台"
    index_title = "管理"

    def has_permission(self, request):
        return super().has_permission(request) and request.user.is_verified()


def _safe_next(request, default: str) -> str:
    """``next`` when it is a path on this site, else ``default``. A bare word is no path: given to
    ``redirect`` it would be looked up as a view name (a 500 for ``next=abc``)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def verify_url(request) -> str:
    return f"{reverse('staff_otp:verify')}?{urlencode({'next': request.get_full_path()})}"


class StaffSecondFactorMiddleware:
    """After django_otp's OTPMiddleware: an unverified staff session reaches only the open routes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_staff) or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and (match.namespace in OPEN_NAMESPACES or match.view_name in OPEN_VIEWS):
            return None
        return HttpResponseRedirect(verify_url(request))


def _staff_only(view):
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return never_cache(wrapper)


class TokenForm(forms.Form):
    token = forms.CharField(label="动态验证码或恢复码", max_length=16, strip=True,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                                          "inputmode": "text"}))


def _context(request, **extra):
    return {"next": _safe_next(request, ""), **extra}


@_staff_only
def verify(request):
    """The second step of a staff sign-in: a TOTP code, a recovery code or a passkey."""
    user = request.user
    if user.is_verified():
        return redirect(_safe_next(request, reverse("admin:index")))
    if not user_has_device(user, confirmed=True):
        return redirect(f"{reverse('staff_otp:setup')}?{urlencode({'next': _safe_next(request, '')})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request, reverse("admin:index")))
        form.add_error("token", "验证码不正确或已使用，请重新输入（多次错误后需等待片刻再试）。")
    from django_otp_webauthn.models import WebAuthnCredential

    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    return render(request, "staff/verify.html", _context(request, form=form, passkeys=passkeys),
                  status=422 if form.errors else 200)


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@_staff_only
def setup(request):
    """Enrolment on the first sign-in: scan the QR code, confirm one code, keep the recovery codes."""
    user = request.user
    if user_has_device(user, confirmed=True):
        return redirect(f"{reverse('staff_otp:verify')}?{urlencode({'next': _safe_next(request, '')})}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = recovery_codes_issue(user=user)
            otp_login(request, device)
            return render(request, "staff/recovery_codes.html",
                          _context(request, codes=codes, continue_to=_safe_next(request, reverse("admin:index"))))
        form.add_error("token", "验证码不正确，请核对手机时间后输入身份验证器当前显示的 6 位数字。")
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "staff/setup.html", _context(
        request, form=form, qr=_qr_svg(device.config_url),
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4))), status=422 if form.errors else 200)


def recovery_codes_issue(*, user) -> list[str]:
    """Ten new single-use recovery codes; any earlier ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@_staff_only
def devices(request):
    """A verified staff member's second factors: add a passkey, issue new recovery codes."""
    user = request.user
    codes = None
    if request.method == "POST" and request.POST.get("action") == "recovery":
        codes = recovery_codes_issue(user=user)
    from django_otp_webauthn.models import WebAuthnCredential

    context = _context(request, codes=codes, totp=TOTPDevice.objects.filter(user=user, confirmed=True),
                       passkeys=WebAuthnCredential.objects.filter(user=user, confirmed=True),
                       recovery_left=StaticToken.objects.filter(device__user=user).count())
    return render(request, "staff/devices.html", context)

