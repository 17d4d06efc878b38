"""Every page a resident, an organization's operator or staff reads fits a phone: at 360 × 740 and
390 × 844, in the standard and the large text size (大字版), no page scrolls sideways, every link,
button and field is a touch target of at least 44 × 44 px, and axe-core finds no violation.

The pages are the route catalogue's (tests/pages.py, checked complete by
tests/functional/test_page_catalogue.py), on the permission matrix's seeded world, served by a
loopback server that shares the test's database connection (tests/loopback.py). One browser
context per size and text size; a screenshot of each page is kept under var/screenshots/.
"""

from __future__ import annotations

import shutil
import threading
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from wsgiref.simple_server import make_server

import pytest

from portal.context_processors import LARGE_TEXT_COOKIE
from tests import pages, routes
from tests.functional.test_permission_matrix import world  # noqa: F401 - the seeded world, built once
from tests.loopback import _Quiet, _Server, _SharedConnectionHandler

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"360x740": (360, 740), "390x844": (390, 844)}
TEXT_SIZES = ("standard", "large")
MIN_TARGET = 44

# The measurements, in the page: what scrolls sideways and which touch targets are too small.
# A link inside running text (a parent with its own words) is exempt, as WCAG 2.5.8 exempts it.
MEASURE = """(minimum) => {
  const html = document.documentElement;
  const visible = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && !el.closest("details:not([open]) > :not(summary)");
  };
  const inText = (el) => el.tagName === "A" && getComputedStyle(el).display === "inline" &&
    [...el.parentElement.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    const text = (el.innerText || el.value || el.name || el.getAttribute("aria-label") || "").trim().slice(0, 20);
    return `${el.tagName.toLowerCase()}${el.type ? "[" + el.type + "]" : ""} "${text}" ${Math.round(r.width)}×${Math.round(r.height)}`;
  };
  const small = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")]
    .filter((el) => visible(el) && !inText(el))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width < minimum - 0.5 || r.height < minimum - 0.5; })
    .map(describe);
  const beyond = (r) => r.width > 0 && r.right > html.clientWidth + 1;
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => visible(el) && beyond(el.getBoundingClientRect()))
    .filter((el) => !el.parentElement || !beyond(el.parentElement.getBoundingClientRect()))
    .slice(0, 5).map(describe);
  // Words that run out of their box (an unbroken number in a heading) widen the page too.
  const words = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = words.nextNode(); node && wide.length < 5; node = words.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    if (node.textContent.trim() && visible(node.parentElement) && beyond(range.getBoundingClientRect()) &&
        !beyond(node.parentElement.getBoundingClientRect())) {
      wide.push(`text in ${describe(node.parentElement)}: "${node.textContent.trim().slice(0, 20)}"`);
    }
  }
  return {scrollWidth: html.scrollWidth, innerWidth: window.innerWidth, clientWidth: html.clientWidth, small, wide};
}"""


@pytest.fixture(scope="module")
def site(world, simulator_server):  # noqa: F811
    """The project (with its static files) on a loopback port, on the test's database connection."""
    import mimetypes

    from django.conf import settings
    from django.contrib.staticfiles import finders

    handler = _SharedConnectionHandler()
    prefix = "/" + settings.STATIC_URL.lstrip("/")

    def application(environ, start_response):
        # Static files straight from the finders: never through Django's request signals, which
        # would close the shared connection (it is inside the test's transaction).
        path = environ.get("PATH_INFO", "")
        if path.startswith(prefix):
            found = finders.find(path[len(prefix):])
            if not found:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b""]
            kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
            start_response("200 OK", [("Content-Type", kind)])
            return [Path(found).read_bytes()]
        return handler(environ, start_response)

    httpd = make_server("127.0.0.1", 0, application, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, name="layout", daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_port}", handler=handler)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def visits(world, django_db_blocker):  # noqa: F811
    """The catalogue's pages, and more of the widest ones: the beneficiary list's page with a row to
    fix (its fields and all its errors), and the guardian's claims and payees (``_claims``)."""
    from enrollment import lists
    from enrollment.models import BeneficiaryList

    with django_db_blocker.unblock():
        bad = lists.list_upload(resident=world.operator, plan=world.plan, filename="名单3.csv",
                                organization=world.organization,
                                data="姓名,身份证号,手机号\n1,6.20602E+17,123\n".encode())
        lists.list_validate(list_id=bad.pk)
        assert BeneficiaryList.objects.get(pk=bad.pk).rows.get().status == "invalid"
        more = _claims(world)
    return [*pages.pages(world), pages.Page("enrollment:list_detail", routes.OPERATOR, f"/lists/{bad.number}/"),
            *more]


def _claims(w) -> list[pages.Page]:
    """The catalogue reads the owner's claim (held, its request answered, no stages) and her payees
    (none registered). Here the guardian's: his child's claims through the services, one held for
    review with its stages and an open request for documents (the upload form), one approved and
    waiting for the child's payee; and his payees page, his own card registered, the child's not."""
    import time_machine

    from claims import services as claims_services
    from claims.models import Claim, ClaimStage
    from tests.factories import CHILD_ID, settlement_record, settlement_source, verified_payee

    source = settlement_source(key_id="WW-LAYOUT")
    with time_machine.travel("2025-09-01 10:00 +08:00", tick=True):
        # The first stay takes the deductible and is approved; the second's payout is above the
        # automatic approval limit and is held for review.
        for number, admission, amount in (("S-LAYOUT-PAID", "2025-07-01", "30000.00"),
                                          ("S-LAYOUT-HELD", "2025-08-01", "60000.00")):
            record = settlement_record(number, id_number=CHILD_ID, admission=admission,
                                       settled=f"{admission}T18:00:00+08:00", in_catalog_self_pay=amount)
            record["name"] = "张小宝"
            claims_services.settlement_receive(source=source, record=record)
        claims_services.policy_year_recompute(policy_id=w.child_policy.pk)
        held = Claim.objects.get(settlement__settlement_id="S-LAYOUT-HELD")
        claims_services.claim_documents_request(
            claim_id=held.pk, user=w.users[routes.REVIEWER],
            reason="请补充出院小结、费用明细清单和诊断证明（均须加盖医院公章），以便核对住院期间的自费项目。")
        approved = Claim.objects.get(settlement__settlement_id="S-LAYOUT-PAID")
    verified_payee(w.guardian.person)
    stages = set(held.stages.values_list("stage", flat=True))
    assert {ClaimStage.RECEIVED, ClaimStage.IN_REVIEW, ClaimStage.DOCUMENTS_REQUESTED} <= stages, stages
    assert held.document_requests.filter(answered_at__isnull=True).exists()
    assert approved.state == Claim.APPROVED and approved.payable > 0, approved.state
    return [pages.Page("claims:my_claims", routes.GUARDIAN, "/claims/"),
            pages.Page("claims:claim", routes.GUARDIAN, f"/claims/{held.pk}/"),
            pages.Page("claims:claim", routes.GUARDIAN, f"/claims/{approved.pk}/"),
            pages.Page("claims:payees", routes.GUARDIAN, "/claims/payees/")]


def _session(user, *, verified: bool = True) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if user.is_staff and verified:  # past the second factor, as after its page (tests.factories.login_as)
        from django_otp import DEVICE_ID_SESSION_KEY

        from tests.factories import totp_device

        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
    return session.session_key


@pytest.mark.django_db
@pytest.mark.parametrize("text_size", TEXT_SIZES)
@pytest.mark.parametrize("size", SIZES)
def test_every_page_fits_a_phone(browser, world, visits, site, size, text_size):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe
    from django.conf import settings
    from django.db import connections

    connection = connections["default"]
    connection.inc_thread_sharing()
    site.handler.shared = connection
    sessions = {actor: _session(user) for actor, user in world.users.items()}
    # The second-factor pages are read by staff who have not passed it yet.
    unverified = {actor: _session(user, verified=False) for actor, user in world.users.items()}
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", base_url=site.url, bypass_csp=True)
    page = context.new_page()
    axe = Axe()
    folder = SCREENSHOTS / f"{size}-{text_size}"
    shutil.rmtree(folder, ignore_errors=True)  # this run's screenshots only, numbered in visiting order
    folder.mkdir(parents=True)
    problems = {}
    try:
        for number, visit in enumerate(visits):
            context.clear_cookies()
            cookies = [{"name": LARGE_TEXT_COOKIE, "value": "1" if text_size == "large" else "0", "url": site.url}]
            if visit.actor != routes.ANONYMOUS:
                chosen = unverified if visit.name.startswith("staff_otp:") else sessions
                cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": chosen[visit.actor], "url": site.url})
            context.add_cookies(cookies)
            response = page.goto(visit.url)
            page.wait_for_load_state("load")
            found = []
            if response is None or response.status >= 400:
                found.append(f"answered {response and response.status}")
            measured = page.evaluate(MEASURE, MIN_TARGET)
            if measured["scrollWidth"] > min(measured["innerWidth"], width):
                found.append(f"scrolls sideways: {measured['scrollWidth']} px wide on {width} px; {measured['wide']}")
            if measured["small"]:
                found.append(f"touch targets under {MIN_TARGET} px: {measured['small']}")
            results = axe.run(page)
            if results.violations_count:
                found.append("axe: " + "; ".join(
                    f"{v['id']} ({len(v['nodes'])}): {v['nodes'][0]['html'][:80]}" for v in results.response["violations"]))
            page.screenshot(path=str(folder / f"{number:02d}-{visit.label}.png"), full_page=True)
            if found:
                problems[f"{visit.name} as {visit.actor} ({visit.url})"] = found
    finally:
        context.close()
        site.handler.shared = None
        connection.dec_thread_sharing()
    assert not problems, f"screenshots in {folder}\n" + "\n".join(
        f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items())
    assert len(list(folder.glob("*.png"))) == len(visits)
