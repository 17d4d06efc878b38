"""Failing well: a request id on every request, static 500 and 503 pages that touch neither the
database nor the cache, and an unreachable database or cache answered at once with 503 and
``Retry-After`` (``handler500`` below), logged as one line (``portal.logging.OneLinePerFailure``)."""

from __future__ import annotations

import re
import secrets
import sys

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpResponse
from django.template.loader import get_template

from portal.logging import request_id

_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIdMiddleware:
    """Outermost: takes the proxy's ``X-Request-ID`` when it is well formed, else makes one; the id
    is on every log line of the request (``portal.logging.RequestContext``), in the response's
    ``X-Request-ID`` header and on the error pages, so a resident can quote it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _INCOMING_ID.fullmatch(incoming) else secrets.token_hex(8)
        request.request_id = rid
        # Left set until the response is closed: Django logs a 4xx/5xx answer after the middleware.
        request_id.set(rid)
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


def _forget_request_id(**kwargs):
    request_id.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="portal.errors.forget_request_id")


def is_outage(exc: BaseException | None) -> bool:
    """The database or the cache/broker cannot be reached (or gave up on the request): nothing the
    request did wrong, worth retrying in a moment. Looks through the exception's causes."""
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    kinds = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError, BrokerError)
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, kinds):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _page(template: str, status: int, request, **context) -> HttpResponse:
    """A self-contained page rendered without the request: no context processor runs, so neither
    the user (database) nor the session (cache) is touched."""
    rid = getattr(request, "request_id", None) or request_id.get()
    html = get_template(template).render({"portal_name": settings.PORTAL_NAME, "request_id": rid, **context})
    response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def refused(request, status: int = 400, title: str = "请求有误",
            message: str = "您的请求无法处理：地址或提交的内容格式不正确。") -> HttpResponse:
    """A static Chinese page for a request refused before any view ran (400, 403, 404 outside the
    site's pages); machine callers of ``/api/`` get the same in JSON."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        codes = {400: "bad_request", 403: "forbidden", 404: "not_found"}
        response = JsonResponse({"error": {"code": codes.get(status, f"http_{status}"),
                                           "message": message}}, status=status)
        response["Cache-Control"] = "no-store"
        return response
    return _page("portal/refused.html", status, request, title=title, message=message)


def bad_request(request, exception=None) -> HttpResponse:
    """``handler400``: a malformed request (a bad header, a suspicious operation)."""
    return refused(request)


def permission_denied(request, exception=None) -> HttpResponse:
    """``handler403``."""
    return refused(request, 403, "无权访问", "您没有访问此页面的权限。")


def csrf_failure(request, reason="") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: an expired form or a cross-site post."""
    return refused(request, 403, "页面已过期", "页面已过期或来源无法验证，请返回上一页刷新后重新提交。")


# A NUL byte (or another C0 control character but tab, line feed, carriage return) in a path, a
# query string, a header or a form field reaches no view: PostgreSQL refuses NUL in text, and no
# legitimate page, form or API call sends one.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM_TYPES = ("application/x-www-form-urlencoded",)


def _has_control(value) -> bool:
    return isinstance(value, str) and _CONTROL.search(value) is not None


class RefuseControlCharactersMiddleware:
    """Answers 400 (a Chinese page, or JSON under ``/api/``) before anything reads the request when
    its path, query string, a header or a URL-encoded form field carries a control character."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._malformed(request):
            return refused(request, 400, "请求有误", "请求的地址、参数或提交内容含有不允许的控制字符（如空字符），已拒绝。")
        return self.get_response(request)

    @staticmethod
    def _malformed(request) -> bool:
        if _has_control(request.path) or _has_control(request.META.get("QUERY_STRING", "")):
            return True
        try:
            if any(_has_control(k) or _has_control(v) for k, values in request.GET.lists() for v in values):
                return True
        except Exception:  # too many fields: Django's own 400
            return False
        if any(_has_control(value) for key, value in request.META.items() if key.startswith("HTTP_")):
            return True
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            try:
                post = request.POST
            except Exception:  # an unreadable body is the view's (or Django's) 400 to give
                return False
            return any(_has_control(k) or _has_control(v) for k, values in post.lists() for v in values)
        return False


def unavailable(request) -> HttpResponse:
    response = _page("portal/503.html", 503, request, retry_after=settings.RETRY_AFTER_SECONDS)
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    return response


def server_error(request) -> HttpResponse:
    """``handler500``: 503 with ``Retry-After`` when the database or the cache is unreachable,
    otherwise the static 500 page. Never a stack trace (production runs with DEBUG off)."""
    if is_outage(sys.exc_info()[1]):
        return unavailable(request)
    return _page("portal/500.html", 500, request)


# --- Caches (issue 13, item 7): nothing personal is kept by a browser or a proxy ------------------

_DOWNLOAD_TYPES = ("application/pdf", "application/vnd.openxmlformats", "application/vnd.ms-excel", "text/csv",
                   "application/octet-stream", "application/zip", "image/")


class NoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every response to a signed-in person (resident or
    staff: their pages carry personal data) and on every download (PDF, spreadsheet, CSV, image,
    ``Content-Disposition``), whoever asked. Public pages for the anonymous keep their caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" in response.get("Cache-Control", ""):
            return response
        content_type = response.get("Content-Type", "")
        if (self._signed_in(request) or response.has_header("Content-Disposition")
                or content_type.startswith(_DOWNLOAD_TYPES)):
            response["Cache-Control"] = "private, no-store"
            if response.has_header("Expires"):
                del response["Expires"]
        return response

    @staticmethod
    def _signed_in(request) -> bool:
        user = getattr(request, "user", None)
        if user is None:
            return False
        try:
            return bool(user.is_authenticated)
        except Exception:  # the session store is unreachable: assume the worst
            return True

