from django.http import JsonResponse
from django.urls import path
from django_otp_webauthn import urls as webauthn_urls

from portal.staff import otp

app_name = "staff_otp"

urlpatterns = [
    path("", otp.verify, name="verify"),
    path("setup/", otp.setup, name="setup"),
    path("devices/", otp.devices, name="devices"),
]


def _staff_only(view):
    """The passkey ceremony is for staff accounts (residents sign in by SMS code)."""

    def wrapper(request, *args, **kwargs):
        if not (request.user.is_authenticated and request.user.is_staff):
            return JsonResponse({"detail": "仅限工作人员账号。", "code": "staff_only"}, status=403)
        return view(request, *args, **kwargs)

    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)
    return wrapper


# django-otp-webauthn's routes, each limited to signed-in staff (its script catalogue stays public).
webauthn_patterns = [
    path(str(p.pattern), p.callback if p.name == "js-i18n-catalog" else _staff_only(p.callback), name=p.name)
    for p in webauthn_urls.urlpatterns
]
