"""Public pages: the programs on sale, a product's terms, the large-text switch."""

from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from enrollment import selectors
from portal.context_processors import LARGE_TEXT_COOKIE


def home(request):
    return render(request, "portal/home.html", {"versions": selectors.published_versions()})


def product_detail(request, slug):
    version = get_object_or_404(selectors.published_versions(), slug=slug)
    return render(
        request, "portal/product_detail.html", {"version": version, "plans": selectors.plan_summaries(version)}
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
    return render(request, "portal/error.html", {"title": "页面不存在", "message": "您访问的页面不存在或已下线。"}, status=404)


def server_error(request):
    return render(
        request, "portal/error.html", {"title": "服务暂时不可用", "message": "系统繁忙，请稍后再试。"}, status=500
    )
