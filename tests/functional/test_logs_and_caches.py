"""Logs and caches (issue 13, item 5 and the end of item 7): no full ID number or mobile number in
any log line, paths and query strings included; ``Cache-Control: no-store`` on every page and file
a signed-in person gets."""

from __future__ import annotations

import io
import logging

import pytest
from django.test import Client
from django.urls import reverse

from tests import routes
from tests.factories import SELF_ID
from tests.functional.test_permission_matrix import world  # noqa: F401  (the shared fixture)

pytestmark = pytest.mark.django_db
PHONE = "13800000001"


@pytest.fixture
def log_output():
    """The log lines as the configured console handler writes them (its formatter and filters)."""
    root = logging.getLogger()
    console = next(h for h in root.handlers if type(h) is logging.StreamHandler and h.formatter is not None)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(console.formatter)
    for item in console.filters:
        handler.addFilter(item)
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def test_paths_and_query_strings_in_the_log_are_masked(world, log_output):  # noqa: F811
    client = Client()
    client.force_login(world.users[routes.OWNER])
    client.get(f"/policies/{SELF_ID}/", {"phone": PHONE, "q": SELF_ID})  # 404: "Not Found: <path>"
    client.get(f"/orders/x%20{SELF_ID}/status/")
    logging.getLogger("portal.test").error("person %s, mobile +86%s", SELF_ID, PHONE, exc_info=ValueError(SELF_ID))
    output = log_output.getvalue()
    assert "Not Found" in output and "person" in output
    assert SELF_ID not in output and PHONE not in output
    assert f"{SELF_ID[:6]}********{SELF_ID[-4:]}" in output and "138****0001" in output


SIGNED_IN = (routes.OWNER, routes.OPERATOR, routes.COUNTER, routes.BUREAU, routes.SUPERUSER)


@pytest.mark.parametrize("actor", SIGNED_IN)
def test_every_page_and_file_a_signed_in_person_gets_is_not_stored(world, actor):  # noqa: F811
    client = Client()
    client.force_login(world.users[actor])
    stored = []
    for name, route in sorted(routes.ROUTES.items()):
        if route.method != "GET" or route.access.get(actor, route.access["default"]) != routes.OK:
            continue
        response = client.get(reverse(name, args=route.args(world) if route.args else None), route.query)
        if response.status_code < 400 and "no-store" not in response.get("Cache-Control", ""):
            stored.append(f"{name}: {response.status_code} {response.get('Cache-Control')!r}")
    assert not stored, stored


def test_downloads_are_not_stored_even_for_the_anonymous(world):  # noqa: F811
    response = Client().get(reverse("enrollment:list_template", args=["xlsx"]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_public_pages_for_the_anonymous_keep_their_caching(world):  # noqa: F811
    response = Client().get("/")
    assert "no-store" not in response.get("Cache-Control", "")


def _staff_client(user) -> Client:
    """A staff member signed in with the second factor passed (django_otp's session key)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from tests.factories import totp_device

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
    return client


def test_the_admin_search_by_id_number_never_puts_the_number_in_an_address(world):  # noqa: F811
    client = _staff_client(world.users[routes.SUPERUSER])
    page = client.get("/admin/enrollment/person/")
    assert 'id="changelist-search" method="post"' in page.content.decode()
    assert '<input type="hidden" name="changelist" value="/admin/enrollment/person/">' in page.content.decode()
    response = client.post("/admin/search/", {"q": SELF_ID, "changelist": "/admin/enrollment/person/"})
    assert response.status_code == 302
    location = response["Location"]
    assert SELF_ID not in location and "qt=" in location and location.startswith("/admin/enrollment/person/?")
    found = client.get(location)
    html = found.content.decode()
    assert found.status_code == 200 and "张桂兰" in html and "王五" not in html  # the blind index found her
    assert f"q={SELF_ID}" not in html and "no-store" in found["Cache-Control"]
    # An address typed with the number is moved to a token at once.
    typed = client.get("/admin/enrollment/person/", {"q": SELF_ID})
    assert typed.status_code == 302 and SELF_ID not in typed["Location"]
    assert "张桂兰" in client.get(typed["Location"]).content.decode()


def test_the_admin_search_refuses_a_page_that_is_not_a_changelist(world):  # noqa: F811
    client = _staff_client(world.users[routes.SUPERUSER])
    response = client.post("/admin/search/", {"q": "x", "changelist": "https://evil.example/"})
    assert response.status_code == 400


def test_the_admin_finds_a_resident_by_the_full_mobile_kept_only_encrypted(world):  # noqa: F811
    client = _staff_client(world.users[routes.SUPERUSER])
    for changelist, owner_shown, other_shown in (
            ("/admin/enrollment/resident/", "张桂兰", "王五"),
            ("/admin/enrollment/order/", world.order.number, world.child_policy.order.number),
            ("/admin/auth/user/", "居民 138****0001", "居民 138****0002")):
        response = client.post("/admin/search/", {"q": world.owner.phone, "changelist": changelist})
        assert response.status_code == 302 and world.owner.phone not in response["Location"]
        html = client.get(response["Location"]).content.decode()
        assert owner_shown in html and other_shown not in html, changelist
        # The search box echoes it to who typed it; no link does (nor a change link's kept filters).
        assert f"q={world.owner.phone}" not in html and f"q%3D{world.owner.phone}" not in html
