"""The basic-insurance registry adapter, its simulator, the HTTP interface, and each program's rule."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import override_settings

from enrollment import registry
from enrollment.models import Program
from tests.factories import LANZHOU_ID, MOTHER_ID, SELF_ID, UNINSURED_ID, WEIHAI_ID, make_id, roster

pytestmark = pytest.mark.django_db
JINAN_ID = make_id("37010219880808129")
NEWBORN_ID = make_id("37100220251001130")


@pytest.fixture
def people(products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英", status="suspended")
    roster(LANZHOU_ID, "赵六", region="620102")
    roster(WEIHAI_ID, "王建国", category="employee", balance="1500.00")
    roster(JINAN_ID, "高新", category="employee")
    roster(NEWBORN_ID, "姜宝宝", newborn=True)


def test_the_simulator_answers_from_the_roster(people):
    answer = registry.lookup(SELF_ID, "张桂兰")
    assert (answer.status, answer.insured_region, answer.category, answer.name_matches) == (
        "in_force", "620602", "resident", True)
    assert registry.lookup(WEIHAI_ID, "王建国").account_balance == Decimal("1500.00")


def test_someone_not_on_the_roster_is_not_insured(people):
    assert registry.lookup(UNINSURED_ID, "钱七").status == "not_insured"


def test_a_wrong_name_is_flagged(people):
    assert registry.lookup(SELF_ID, "张三").name_matches is False


def test_batched_lookups_take_one_query_per_batch(people, django_assert_num_queries):
    with django_assert_num_queries(1):
        answers = registry.lookup_many([(SELF_ID, "张桂兰"), (MOTHER_ID, "李秀英"), (UNINSURED_ID, "钱七")])
    assert {k: a.status for k, a in answers.items()} == {
        SELF_ID: "in_force", MOTHER_ID: "suspended", UNINSURED_ID: "not_insured"}


@pytest.mark.parametrize(
    ("program", "id_number", "name", "code"),
    [
        ("wuwei", SELF_ID, "张桂兰", "eligible"),
        ("wuwei", LANZHOU_ID, "赵六", "outside_region"),
        ("wuwei", MOTHER_ID, "李秀英", "suspended"),
        ("wuwei", UNINSURED_ID, "钱七", "not_insured"),
        ("wuwei", SELF_ID, "张三", "name_mismatch"),
        ("weihai", WEIHAI_ID, "王建国", "eligible"),
        ("weihai", JINAN_ID, "高新", "eligible"),  # anywhere in Shandong, employees too
        ("weihai", NEWBORN_ID, "姜宝宝", "eligible"),
        ("weihai", SELF_ID, "张桂兰", "outside_region"),
    ],
)
def test_each_programs_eligibility_rule(people, program, id_number, name, code):
    verdict = registry.eligibility(Program.objects.get(code=program), registry.lookup(id_number, name))
    assert verdict.code == code and verdict.ok == (code == "eligible")
    assert verdict.message


class FakeRegistry(BaseHTTPRequestHandler):
    """The bureau's registry as this project's adapter expects it: checks the signature."""

    mode = "ok"
    seen: list = []
    sent: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = registry.signature("registry-secret", self.path, self.headers["X-Timestamp"],
                                      self.headers["X-Nonce"], body)
        FakeRegistry.seen.append((self.path, self.headers["X-App-Key"], self.headers["X-Signature"] == expected))
        if self.mode == "slow":
            time.sleep(1.5)
        if self.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        people = json.loads(body)["people"]
        FakeRegistry.sent.extend(people)
        results = [{"id_number": p["id_number"], "status": "in_force", "insured_region": "371002",
                    "category": "employee", "medical_assistance": True, "name_matches": True,
                    "account_balance": "88.80"} for p in people]
        payload = b"not json" if self.mode == "garbage" else json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_registry():
    server = HTTPServer(("127.0.0.1", 0), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeRegistry.seen = []
    FakeRegistry.sent = []
    with override_settings(REGISTRY_BACKEND="http", REGISTRY_API_URL=f"http://127.0.0.1:{server.server_port}",
                           REGISTRY_APP_KEY="portal", REGISTRY_APP_SECRET="registry-secret",
                           REGISTRY_TIMEOUT_SECONDS=1):
        yield FakeRegistry
    server.shutdown()


def test_the_http_adapter_signs_its_request_and_reads_the_answer(fake_registry):
    fake_registry.mode = "ok"
    answer = registry.lookup(WEIHAI_ID, "王建国")
    assert (answer.status, answer.insured_region, answer.medical_assistance) == ("in_force", "371002", True)
    assert answer.account_balance == Decimal("88.80")
    assert fake_registry.seen == [("/v1/insured/lookup-batch", "portal", True)]


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
def test_a_registry_that_does_not_answer_properly_is_unavailable(fake_registry, mode):
    fake_registry.mode = mode
    with pytest.raises(registry.RegistryUnavailable) as exc:
        registry.lookup(WEIHAI_ID, "王建国")
    assert "请稍后重试" in str(exc.value)


def test_an_unreachable_registry_is_unavailable():
    with override_settings(REGISTRY_BACKEND="http", REGISTRY_API_URL="http://127.0.0.1:1"), pytest.raises(
        registry.RegistryUnavailable
    ):
        registry.lookup(WEIHAI_ID, "王建国")


def test_each_number_goes_with_its_document_type(fake_registry):
    fake_registry.mode = "ok"
    registry.lookup_many([(WEIHAI_ID, "王建国"), ("830000199201300022", "林美玲"), ("937840199001010017", "JOHN SMITH")])
    assert sorted((p["id_number"], p["psn_cert_type"]) for p in fake_registry.sent) == sorted([
        ("830000199201300022", "17"), (WEIHAI_ID, "01"), ("937840199001010017", "07")])


@pytest.mark.parametrize(("number", "name"), [("830000199201300022", "林美玲"), ("810000199001010019", "陈家明"),
                                              ("937840199001010017", "JOHN SMITH")])
def test_permit_and_foreign_card_holders_insured_in_weihai_can_be_bought_for(products, number, name):
    from datetime import date

    from enrollment.models import Plan, Relation
    from enrollment.selectors import PersonInput, person_check
    from tests.factories import make_resident

    roster(WEIHAI_ID, "王建国", category="employee")
    roster(number, name, region="371002")
    resident = make_resident(name="王建国", id_number=WEIHAI_ID)
    plan = Plan.objects.get(version__slug="weihai-2025", code="standard")
    check = person_check(resident=resident, plan=plan, person=PersonInput(name, number, Relation.OTHER),
                         today=date(2024, 10, 1))
    assert check.ok, check.errors
    assert check.masked == number[:6] + "********" + number[-4:]
