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
