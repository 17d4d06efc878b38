"""No input yields a 5xx (issue 13, item 7): the cases the security review reproduced, then a
crawler that requests every URL pattern of the URL conf with malformed arguments as each role."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests import routes
from tests.factories import login_as
from tests.functional.test_permission_matrix import world  # noqa: F401  (the shared fixture)

pytestmark = pytest.mark.django_db

NUL = "\x00"


def _client(w, actor):
    """A client signed in as ``actor``; a staff account has passed its second factor (else every
    staff page would only redirect to the second-factor step and the crawl would test nothing)."""
    client = Client(raise_request_exception=False)
    if actor != routes.ANONYMOUS:
        login_as(client, w.users[actor])
    return client


def _chinese(response) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", response.content.decode("utf-8", "replace")))


# --- The reproduced cases ---------------------------------------------------------------------


@pytest.mark.parametrize(("actor", "url"), [
    (routes.OWNER, "/orders/A\x00B/"),
    (routes.OWNER, "/orders/A\x00B/status/"),
    (routes.OWNER, "/orders/A\x00B/return/"),
    (routes.OWNER, "/policies/A\x00B/"),
    (routes.OWNER, "/policies/A\x00B/pdf/"),
    (routes.OWNER, "/policies/A\x00B/cancel/"),
    (routes.OWNER, "/service/A\x00B/"),
    (routes.OWNER, "/service/A\x00B/attachments/1/"),
    (routes.OPERATOR, "/lists/A\x00B/"),
    (routes.OPERATOR, "/lists/A\x00B/report.xlsx"),
    (routes.OWNER, "/claims/submissions/A\x00B/documents/1/"),
    (routes.OPERATOR, "/orders/A\x00B/receipt.pdf"),
    (routes.COUNTER, "/counter/enrollments/A\x00B/"),
])
def test_a_nul_byte_in_a_path_is_refused_in_chinese(world, actor, url):  # noqa: F811
    response = _client(world, actor).get(url)
    assert response.status_code in (400, 404), (url, response.status_code)
    assert _chinese(response)


def test_a_nul_byte_in_a_query_string_is_refused(world):  # noqa: F811
    response = _client(world, routes.OWNER).get("/policies/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert _chinese(response)


def test_a_list_for_an_organization_that_is_not_a_number_is_not_found(world):  # noqa: F811
    response = _client(world, routes.OPERATOR).get("/lists/new/", {"org": "abc"})
    assert response.status_code in (400, 404)
    assert _chinese(response)


def test_renewal_with_an_authorization_that_is_not_a_number_is_refused(world):  # noqa: F811
    response = _client(world, routes.OWNER).post("/renewal/", {"authorization": "abc"})
    assert response.status_code in (400, 404, 422)
    assert _chinese(response)


def test_a_next_that_is_no_path_is_ignored_not_looked_up_as_a_view(world):  # noqa: F811
    """``redirect("abc")`` looks ``abc`` up as a view name: a 500 before ``next`` had to be a path."""
    response = _client(world, routes.REVIEWER).post("/staff/second-factor/", {"next": "abc"})
    assert response.status_code == 302 and response["Location"] == "/admin/"  # verified: on to the admin


@pytest.mark.parametrize("path", [
    "claims/claimsubmission/abc/change/",
    "claims/claimsubmission/abc/key/",
    "claims/claimsubmission/999999/document/1/",
    "claims/payoutbatch/abc/change/",
    "claims/payoutbatch/abc/",
    "claims/claimsubmission/abc/",
])
def test_the_admin_answers_not_found_for_ids_that_are_not_there(world, path):  # noqa: F811
    response = _client(world, routes.SUPERUSER).get(f"/admin/{path}")
    assert response.status_code in (302, 404), (path, response.status_code)


# --- The crawler ------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>|\(\?P<(?P<rname>[^>]+)>[^)]*\)")
# One value of each kind: non-numeric, a NUL byte, over-long (past any integer column), an unknown number.
MALFORMED = ["abc", "a\x00b", "9" * 300, "999999999"]


def _patterns(patterns, prefix=""):
    for pattern in patterns:
        text = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + text)
        elif isinstance(pattern, URLPattern):
            yield pattern, prefix + text


def _url(route: str, value: str) -> str:
    route = PLACEHOLDER.sub(lambda m: value, route)
    route = route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + route.lstrip("/")


def _urls():
    """Every pattern once per malformed value (a route without arguments once, with malformed
    query arguments), with the admin model it belongs to (None outside the admin's model pages)."""
    from portal.staff.access import _admin_model

    seen = set()
    for pattern, route in _patterns(get_resolver().url_patterns):
        model = _admin_model(pattern.name or "")[0] if route.startswith("admin/") else None
        for value in MALFORMED if PLACEHOLDER.search(route) else ["abc"]:
            url = _url(route, value)
            if url not in seen:
                seen.add(url)
                yield pattern, url, value, model


QUERY = {"org": "abc", "next": "a\x00", "page": "-1", "q": "9" * 300, "index": "abc", "year": "abc",
         "format": "abc", "token": "abc", "authorization": "abc", "plan": "abc", "id": "abc"}
BODY = {**QUERY, "method": "abc", "channel": "abc", "action": "abc", "answer": "abc", "amount": "abc",
        "service_point": "abc", "cash_counted": "abc", "phone": "9" * 300, "name-0": "a\x00", "id_number-0": "abc",
        "size": "abc", "to": "abc", "records": "abc"}

# What a staff role other than the superuser sends to the admin pages it reaches: the superuser
# sends every kind to every admin view; a NUL byte is refused by a middleware before any view
# (``portal.errors``) and an unknown number takes the same path as an out-of-range one.
ROLE_ADMIN_VALUES = ("abc", "9" * 300)


def _admin_reach(user):
    """Which admin URLs ``user`` gets every malformed value at: all for the superuser; for another
    staff role the pages of the models its role has any permission on (where a view goes past the
    permission check and reads its arguments) and the admin's own pages. Elsewhere in the admin the
    role is refused before any view reads an argument (``ModelAdmin`` checks the permission, the
    custom views first thing): one value there checks the refusal. Residents and the anonymous are
    sent to the admin's sign-in by ``admin_view`` whatever the arguments: one value as well."""
    if not user or not user.is_staff:
        return lambda model: False
    if user.is_superuser:
        return lambda model: True
    allowed = {perm.split(".", 1)[0] + "." + perm.split("_", 1)[1] for perm in user.get_all_permissions()
               if "_" in perm}

    def reach(model):
        return model is None or model._meta.label_lower in allowed
    return reach


@pytest.mark.parametrize("actor", routes.ACTORS)
def test_no_url_pattern_answers_5xx_to_malformed_arguments(world, actor):  # noqa: F811
    """Every URL pattern × each malformed value × GET (malformed query) and POST (malformed body), as
    every actor of the permission matrix: one client per actor, the matrix's world shared."""
    client = _client(world, actor)
    user = world.users.get(actor)
    reach = _admin_reach(user)
    superuser = bool(user and user.is_superuser)
    failures = []
    for pattern, url, value, model in _urls():
        admin = url.startswith("/admin/")
        if admin and value != "abc" and not (reach(model) and (value in ROLE_ADMIN_VALUES or superuser)):
            continue
        for method in ("GET", "POST"):
            if method == "GET":
                response = client.get(url, {} if admin else QUERY)
            else:
                response = client.post(url, BODY)
            if response.status_code >= 500:
                failures.append(f"{method} {url!r} → {response.status_code}")
            if pattern.name in ("logout", "account_close") and actor != routes.ANONYMOUS:
                login_as(client, user)  # signed out: sign in again for the next
    assert not failures, "\n".join(failures)
