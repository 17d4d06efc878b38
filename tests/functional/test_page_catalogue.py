"""The layout test's list of pages (tests/pages.py) is complete: every GET route that answers a
whole HTML page to the person who would read it is flagged ``page=True`` in tests/routes.py, and
every route so flagged is one."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests import pages, routes
from tests.factories import login_as
from tests.functional.test_permission_matrix import world  # noqa: F401 - the module's seeded world


def _answer(world, name, route, actor):  # noqa: F811
    client = Client()
    if actor != routes.ANONYMOUS:
        login_as(client, world.users[actor])  # staff past the second factor, as after its page
    url = reverse(name, args=route.args(world) if route.args else None)
    return client.get(url, route.query, follow=True)


def _is_page(response) -> bool:
    return (response.status_code == 200 and response.get("Content-Type", "").startswith("text/html")
            and b"<html" in response.content[:500])


@pytest.mark.django_db
def test_every_page_a_person_reads_is_in_the_layout_test(world):  # noqa: F811
    unflagged, not_pages = [], []
    for name, route in sorted(routes.ROUTES.items()):
        if route.method != "GET":
            continue
        actors = pages.visits(name, route)
        if not actors:
            unflagged.append(f"{name}: nobody may read it") if route.page else None
            continue
        is_page = _is_page(_answer(world, name, route, actors[-1]))
        if is_page and not route.page and name not in pages.NOT_PAGES:
            unflagged.append(name)
        if route.page and not is_page:
            not_pages.append(name)
    assert not unflagged, f"HTML pages without page=True in tests/routes.py (or a reason in NOT_PAGES): {unflagged}"
    assert not not_pages, f"routes flagged page=True that answer no HTML page: {not_pages}"


def test_the_layout_test_visits_resident_organization_and_staff_pages(world):  # noqa: F811
    visited = {(page.name, page.actor) for page in pages.pages(world)}
    actors = {actor for _, actor in visited}
    assert {routes.ANONYMOUS, routes.OWNER, routes.OPERATOR, routes.COUNTER, routes.BUREAU} <= actors
    assert ("enrollment:list_detail", routes.OPERATOR) in visited
    assert ("supervision:dashboard", routes.BUREAU) in visited
