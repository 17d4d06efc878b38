"""The basic-insurance registry asked on the 医疗保障信息平台 (C101 in the signed envelope) over real
HTTP to the platform simulator, which answers from the roster; and each program's rule."""

from decimal import Decimal

import pytest

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
    with django_assert_num_queries(1):  # the simulator's, over HTTP on the shared connection
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


def test_the_answer_carries_join_date_hardship_and_family_binding(people):
    from datetime import date

    from portal.simulators.models import RosterEntry

    RosterEntry.objects.filter(name="王建国").update(joined_on=date(2025, 3, 1), hardship=["dibao", "monitored"])
    spouse = make_id("37100219800101002")
    roster(spouse, "刘芳", region="371002")
    RosterEntry.objects.filter(name="王建国").update(
        family_hashes=[RosterEntry.objects.get(name="刘芳").id_hash])
    answers = registry.lookup_many([(WEIHAI_ID, "王建国"), (spouse, "刘芳"), (JINAN_ID, "高新")])
    payer = answers[WEIHAI_ID]
    assert (payer.joined_on, payer.hardship, payer.category) == (date(2025, 3, 1), ("dibao", "monitored"), "employee")
    assert payer.binds(answers[spouse]) and not payer.binds(answers[JINAN_ID]) and not answers[spouse].binds(payer)
    assert answers[spouse].account_balance is None  # 城乡居民 have no personal account
    assert registry.lookup(NEWBORN_ID, "姜宝宝").newborn


@pytest.fixture
def platform(monkeypatch):
    """The simulator's C101 handler, observed (and replaceable) per test."""
    from portal.integrations.hsa.simulator import transactions

    seen = []
    real = transactions.HANDLERS["C101"]

    def observed(input, message):
        seen.append((message["infno"], input))
        return platform.answer(input, message) if platform.answer else real(input, message)

    platform.answer = None
    platform.real = real
    platform.seen = seen
    monkeypatch.setitem(transactions.HANDLERS, "C101", observed)
    return platform


def test_one_signed_request_per_batch_of_500(people, platform):
    many = [(make_id(f"37100219900101{n:03d}"), f"居民{n}") for n in range(501)]
    answers = registry.lookup_many([(SELF_ID, "张桂兰"), *many])
    assert len(answers) == 502 and answers[SELF_ID].status == "in_force"
    assert [len(input["data"]) for _, input in platform.seen] == [500, 2]


def test_each_number_goes_with_its_document_type(people, platform):
    registry.lookup_many([(WEIHAI_ID, "王建国"), ("830000199201300022", "林美玲"), ("937840199001010017", "JOHN SMITH")])
    sent = platform.seen[0][1]["data"]
    assert sorted((p["certno"], p["psn_cert_type"]) for p in sent) == sorted([
        ("830000199201300022", "17"), (WEIHAI_ID, "01"), ("937840199001010017", "07")])


def _drop_one(input, message):
    output = platform.real(input, message)
    output["psninfo"].pop()
    return output


def _bad_status(input, message):
    output = platform.real(input, message)
    output["psninfo"][0]["insuinfo"][0]["psn_insu_stas"] = "9"
    return output


def _refuse(input, message):
    from portal.integrations.hsa.simulator.transactions import Refused

    raise Refused("系统维护中")


@pytest.mark.parametrize("answer", [_drop_one, _bad_status, _refuse])
def test_an_incomplete_unreadable_or_error_answer_is_unavailable(people, platform, answer):
    platform.answer = answer
    with pytest.raises(registry.RegistryUnavailable) as exc:
        registry.lookup_many([(SELF_ID, "张桂兰"), (WEIHAI_ID, "王建国")])
    assert "请稍后重试" in str(exc.value)


def test_an_answer_signed_with_another_key_is_unavailable(people, settings):
    from portal.integrations.hsa import sm

    settings.HSA_PLATFORM_PUBLIC_KEY = sm.public_key_of(sm.new_private_key())
    with pytest.raises(registry.RegistryUnavailable):
        registry.lookup(SELF_ID, "张桂兰")


def test_an_unreachable_registry_is_unavailable(settings):
    settings.HSA_SERVICE_URL, settings.HSA_TIMEOUT_SECONDS = "http://127.0.0.1:1/callService", 1
    with pytest.raises(registry.RegistryUnavailable):
        registry.lookup(WEIHAI_ID, "王建国")


def test_a_registry_that_does_not_answer_in_time_is_unavailable(settings):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    settings.HSA_SERVICE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/callService"
    settings.HSA_TIMEOUT_SECONDS = 0.5
    try:
        with pytest.raises(registry.RegistryUnavailable):
            registry.lookup(WEIHAI_ID, "王建国")
    finally:
        listener.close()


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
