"""Public pages: the programs on sale, a product's terms, the large-text switch; health probes."""

import asyncio

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from health_check.views import HealthCheckView

from enrollment import selectors
from portal.context_processors import LARGE_TEXT_COOKIE
from portal.shortcuts import get_object_or_404


def home(request):
    versions = [(version, selectors.sale_state(version)) for version in selectors.published_versions()]
    return render(request, "portal/home.html", {"versions": versions})


def _midyear_rule(version) -> str:
    """After the sales window, the rule of the program's mid-year joiners while they may still buy."""
    from django.utils import timezone

    from enrollment import midyear

    return midyear.notice(version, timezone.localdate())


def product_detail(request, slug):
    version = get_object_or_404(selectors.published_versions(), slug=slug)
    return render(
        request, "portal/product_detail.html",
        {"version": version, "plans": selectors.plan_summaries(version), "sale": selectors.sale_state(version),
         "midyear_rule": _midyear_rule(version)},
    )


@require_POST
def text_size(request):
    """The 适老化 switch: a cookie read by every page, so the choice persists without JavaScript."""
    large = request.POST.get("large") == "1"
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie(
        LARGE_TEXT_COOKIE, "1" if large else "0", max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure()
    )
    return response


def not_found(request, exception=None):
    if request.path.startswith("/api/"):  # machine callers get the API's JSON error shape
        from portal.errors import refused

        return refused(request, 404, "页面不存在", "接口地址不存在")
    return render(request, "portal/error.html", {"title": "页面不存在", "message": "您访问的页面不存在或已下线。"}, status=404)


class Readiness(HealthCheckView):
    """``/health/``: the database and the cache, 200 or 503 (with ``Retry-After``), as JSON when the
    request prefers it (``Accept: application/json`` or ``?format=json``) and as plain text for
    anything else (curl, load balancers, browsers)."""

    checks = ("health_check.checks.Database", "health_check.checks.Cache")

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        status = 503 if any(result.error for result in self.results) else 200
        wanted = request.GET.get("format") or request.get_preferred_type(["text/plain", "application/json"])
        if wanted in ("json", "application/json"):
            response = self.render_to_response_json(status)
        else:
            response = self.render_to_response_text(status)
        if status == 503:
            response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
        return response


def liveness(request):
    """``/health/live/``: the process answers; touches neither the database nor the cache (a
    restart would not cure their outage, so it is no reason to restart)."""
    response = HttpResponse("ok\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
