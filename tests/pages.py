"""The pages people read, for the phone layout test (tests/e2e/test_layout.py).

Taken from the route catalogue (``tests/routes.py``): every route with ``page=True``, visited as the
actor who would read it (a resident who owns the objects, the organization's operator, the counter
staff, the bureau), and, when the anonymous may open it too, as the anonymous. The catalogue is
checked complete against the URL conf (``test_every_route_is_catalogued``), and its ``page`` flags
against what each route answers (``tests/functional/test_page_catalogue.py``): a GET route that
answers a whole HTML page is a page, unless it is listed in ``NOT_PAGES`` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from tests import routes

# Who reads a page, most specific first: the resident who owns the world's objects, then the
# organization's operator, then staff by role.
READERS = (routes.OWNER, routes.OPERATOR, routes.GUARDIAN, routes.COUNTER, routes.BUREAU, routes.SUPERUSER)

# HTML pages that are not the portal's own: they stand in for an outside system's screens.
NOT_PAGES = {
    "payments_simulator:cashier": "the payment provider's cashier (a simulator)",
    "payments_simulator:contract_sign": "the payment provider's contract page (a simulator)",
    "sms_simulator:outbox": "the SMS simulator's outbox (development only)",
}


@dataclass(frozen=True)
class Page:
    name: str
    actor: str
    url: str

    @property
    def label(self) -> str:
        return f"{self.name.replace(':', '-')}--{self.actor}"


def reader(route: routes.Route) -> str | None:
    """The signed-in actor who reads the route's page (``None`` when only the anonymous may)."""
    return next((actor for actor in READERS if route.access.get(actor, route.access["default"]) == routes.OK), None)


def visits(name: str, route: routes.Route) -> list[str]:
    actors = []
    if route.access.get(routes.ANONYMOUS, route.access["default"]) == routes.OK:
        actors.append(routes.ANONYMOUS)
    signed_in = reader(route)
    if signed_in:
        actors.append(signed_in)
    return actors


def pages(world) -> list[Page]:
    found = []
    for name, route in sorted(routes.ROUTES.items()):
        if not route.page:
            continue
        url = reverse(name, args=route.args(world) if route.args else None)
        if route.query:
            from urllib.parse import urlencode

            url = f"{url}?{urlencode(route.query)}"
        found += [Page(name, actor, url) for actor in visits(name, route)]
    return found
