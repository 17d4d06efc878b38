"""The admin's search without the term in a URL (issue 13, item 5).

A changelist's search box posts here (``templates/admin/search_form.html``); the term is kept in
the staff member's session under a random token and the browser is sent to the changelist with
``?qt=<token>``. :class:`AdminSearchMiddleware` puts the term back as ``q`` before the changelist
reads it, and writes the token back into the page's links, so an ID number or a mobile number
searched for is never in an address: not in the proxy's or the server's request log, not in the
browser's history, not in a ``Referer``. A ``?q=`` that looks like one (an old bookmark) is moved
into the session the same way.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote_plus, urlencode

from django.contrib import admin
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_POST

from portal import crypto
from portal.logging import ID_PATTERN, MOBILE_PATTERN

SESSION_KEY = "admin_search"
KEEP = 20  # tokens kept per session (the newest)
MAX_TERM = 200
_RESERVED = {"csrfmiddlewaretoken", "q", "qt", "changelist"}


def _remember(request, term: str) -> str:
    token = secrets.token_urlsafe(12)
    kept = dict(list(request.session.get(SESSION_KEY, {}).items())[-(KEEP - 1):])
    kept[token] = crypto.encrypt(term)  # the session store is at rest too
    request.session[SESSION_KEY] = kept
    return token


def _is_changelist(path: str) -> bool:
    if not path.startswith("/admin/"):
        return False
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.namespace == "admin" and (match.url_name or "").endswith("_changelist")


@require_POST
def _search(request):
    changelist = request.POST.get("changelist", "")
    if not _is_changelist(changelist):
        return HttpResponseBadRequest("搜索页面无效".encode(), content_type="text/plain; charset=utf-8")
    params = [(k, v) for k, v in request.POST.items() if k not in _RESERVED]
    term = request.POST.get("q", "").strip()[:MAX_TERM]
    if term:
        params.append(("qt", _remember(request, term)))
    return HttpResponseRedirect(changelist + ("?" + urlencode(params) if params else ""))


search = admin.site.admin_view(_search)


class AdminSearchMiddleware:
    """Only under ``/admin/``: ``?qt=`` becomes the session's term as ``q``; a personal number in
    ``?q=`` is moved into the session and the browser redirected to the token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/") or request.method != "GET" or not hasattr(request, "session"):
            return self.get_response(request)
        term = request.GET.get("q", "")
        if term and (ID_PATTERN.search(term) or MOBILE_PATTERN.search(term)) and _is_changelist(request.path):
            params = [(k, v) for k, v in request.GET.items() if k != "q"]
            params.append(("qt", _remember(request, term.strip()[:MAX_TERM])))
            return HttpResponseRedirect(request.path + "?" + urlencode(params))
        token = request.GET.get("qt")
        if not token:
            return self.get_response(request)
        stored = request.session.get(SESSION_KEY, {}).get(token, "")
        term = crypto.decrypt(stored) if stored else ""
        query = request.GET.copy()
        del query["qt"]
        if term:
            query["q"] = term
        request.GET = query
        response = self.get_response(request)
        if term and response.get("Content-Type", "").startswith("text/html") and not response.streaming:
            encoded = quote_plus(term)
            body = response.content.decode(response.charset or "utf-8")
            for separator in ("?", "&amp;", "&"):
                body = body.replace(f"{separator}q={encoded}", f"{separator}qt={token}")
            # The change links keep the list's filters as one encoded parameter (_changelist_filters).
            body = body.replace(f"q%3D{quote_plus(encoded)}", f"qt%3D{token}")
            response.content = body.encode(response.charset or "utf-8")
        return response
