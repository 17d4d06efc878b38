"""A resident buys for self and family: three screens, every refusal explained, nothing half-done."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from enrollment import services
from enrollment.models import Consent, Order, Person, Plan, Policy
from enrollment.selectors import PersonInput
from tests.factories import (
    CHILD_ID,
    LANZHOU_ID,
    MOTHER_ID,
    SELF_ID,
    UNINSURED_ID,
    login_as,
    make_resident,
    roster,
)

pytestmark = pytest.mark.django_db

IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"


@pytest.fixture
def registry(db):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    roster(CHILD_ID, "张小宝")
    roster(LANZHOU_ID, "赵六", region="620102")
    roster(UNINSURED_ID, "钱七", status="not_insured")


@pytest.fixture
def resident(products, registry):
    return make_resident()


@pytest.fixture
def signed_in(client, resident):
    login_as(client, resident.user)
    return client


@pytest.fixture
def in_window():
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        yield


def basic() -> Plan:
    return Plan.objects.get(version__slug="wuwei-2025", code="basic")


def people_post(*rows, consent=("terms", "privacy")):
    data = {"consent": list(consent)}
    for index, row in enumerate(rows):
        name, id_number, relation, *guardian = row
        data[f"people-{index}-name"] = name
        data[f"people-{index}-id_number"] = id_number
        data[f"people-{index}-relation"] = relation
        if guardian:
            data[f"people-{index}-guardian"] = "1"
    return data


BUY_URL = "/buy/wuwei-2025/basic/"


def test_plan_screen_lists_both_plans_with_the_sample_label(client, products, in_window):
    page = client.get("/buy/wuwei-2025/").content.decode()
    assert "基础版" in page and "升级版" in page and "示例方案（参数待主管部门确认）" in page
    assert "/buy/wuwei-2025/basic/" in page


def test_buying_requires_sign_in(client, products, in_window):
    response = client.get(BUY_URL)
    assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_the_people_screen_starts_with_oneself(signed_in, in_window):
    page = signed_in.get(BUY_URL).content.decode()
    assert "张桂兰（本人）" in page and "620602********" + SELF_ID[-4:] in page and "提交订单" in page
    assert SELF_ID not in page  # never the resident's full ID: the server fills it in


def test_buying_for_self_and_a_parent_makes_one_pending_order(signed_in, resident, in_window):
    response = signed_in.post(BUY_URL, people_post(("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent")))
    assert response.status_code == 302
    order = Order.objects.get()
    assert response["Location"] == reverse("enrollment:order_detail", args=[order.number])
    assert order.amount == Decimal("138.00") and order.status == Order.PENDING
    assert order.channel == "family"
    policies = {p.person.name: p for p in order.policies.select_related("person")}
    assert set(policies) == {"张桂兰", "李秀英"}
    assert policies["李秀英"].relation == "parent" and policies["李秀英"].channel == "family"
    assert all(p.status == Policy.PENDING for p in policies.values())
    consents = Consent.objects.filter(policy__order=order)
    assert consents.count() == 4  # terms + privacy for each person, with the text versions
    assert set(consents.values_list("text__version", flat=True)) == {"2025.1"}
    page = signed_in.get(response["Location"]).content.decode()
    assert "138.00" in page and "620602********" in page and MOTHER_ID not in page


def test_outside_the_sales_window_the_refusal_gives_the_dates(signed_in):
    with time_machine.travel("2025-07-15 10:00 +08:00", tick=True):
        response = signed_in.post(BUY_URL, people_post(("张桂兰", SELF_ID, "self")))
    assert response.status_code == 422
    assert "2025年6月1日至2025年6月30日" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("李秀英", MOTHER_ID[:-1] + ("0" if MOTHER_ID[-1] != "0" else "1"), "parent"), "校验"),
        (("李秀英", "6206021950", "parent"), "18"),
        (("", MOTHER_ID, "parent"), "请填写姓名"),
        (("李秀英", MOTHER_ID, "self"), "“本人”须与实名认证的身份证号一致"),
        (("张小宝", CHILD_ID, "other"), "须由监护人投保"),
        (("赵六", LANZHOU_ID, "other"), "不符合投保条件"),  # another person learns only the category
        (("钱七", UNINSURED_ID, "other"), "不符合投保条件"),
    ],
)
def test_each_bad_person_is_refused_with_a_clear_message_and_nothing_is_created(signed_in, in_window, row, message):
    response = signed_in.post(BUY_URL, people_post(("张桂兰", SELF_ID, "self"), row))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Order.objects.exists() and not Policy.objects.exists()


def test_consent_is_required(signed_in, in_window):
    response = signed_in.post(BUY_URL, people_post(("张桂兰", SELF_ID, "self"), consent=("terms",)))
    assert response.status_code == 422
    assert "请阅读并同意" in response.content.decode()
    assert not Order.objects.exists()


def test_a_guardian_buys_for_a_child_and_consents_as_guardian(signed_in, in_window):
    response = signed_in.post(BUY_URL, people_post(("张小宝", CHILD_ID, "child")))
    assert response.status_code == 302
    assert Consent.objects.filter(person__name="张小宝", as_guardian=True).count() == 2


def test_the_same_person_twice_in_one_order_is_refused(signed_in, in_window):
    response = signed_in.post(BUY_URL, people_post(("李秀英", MOTHER_ID, "parent"), ("李秀英", MOTHER_ID, "parent")))
    assert response.status_code == 422
    assert "重复" in response.content.decode()


def test_a_person_already_covered_this_year_is_refused_across_accounts(signed_in, resident, in_window):
    assert signed_in.post(BUY_URL, people_post(("李秀英", MOTHER_ID, "parent"))).status_code == 302
    sister = make_resident(phone="13800000002", name="李秀英", id_number=MOTHER_ID)
    with pytest.raises(services.PurchaseRefused) as refused:
        services.order_create(
            resident=sister, plan=Plan.objects.get(version__slug="wuwei-2025", code="upgrade"),
            people=[PersonInput("李秀英", MOTHER_ID, "self")], accepted={"terms", "privacy"},
        )
    assert refused.value.code == "already_covered"
    assert Policy.objects.count() == 1


def test_live_check_of_a_row_shows_price_and_status(signed_in, in_window):
    url = reverse("enrollment:check_person", args=["wuwei-2025", "basic", 1])
    response = signed_in.post(url, people_post(("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent")),
                              HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="status-1"' in page and "69.00" in page and "620602********" in page
    assert "<html" not in page  # a partial, not a page


def test_live_check_explains_a_bad_id(signed_in, in_window):
    url = reverse("enrollment:check_person", args=["wuwei-2025", "basic", 0])
    page = signed_in.post(url, people_post(("李秀英", "62060219500315", "parent")), HTTP_HX_REQUEST="true")
    assert "18" in page.content.decode()


def test_adding_a_row_returns_the_row_and_the_next_button(signed_in, in_window):
    page = signed_in.get(reverse("enrollment:person_row", args=["wuwei-2025", "basic"]) + "?index=1",
                         HTTP_HX_REQUEST="true").content.decode()
    assert 'name="people-1-id_number"' in page
    assert 'hx-swap-oob="true"' in page and "index=2" in page


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_purchases_of_one_person_make_exactly_one_policy(products, registry):
    residents = [make_resident(phone=f"1390000{i:04d}", name="张桂兰" if i == 0 else "李秀英",
                               id_number=SELF_ID if i == 0 else MOTHER_ID) for i in range(2)]
    buyer = residents[0]
    plan = basic()

    def buy(_):
        try:
            services.order_create(resident=buyer, plan=plan, people=[PersonInput("李秀英", MOTHER_ID, "parent")],
                                  accepted={"terms", "privacy"})
            return "ok"
        except services.PurchaseRefused as refused:
            return refused.code
        finally:
            connection.close()

    with time_machine.travel(IN_SALES_WINDOW, tick=True), ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(buy, range(50)))
    assert outcomes.count("ok") == 1
    assert outcomes.count("already_covered") == 49
    assert Policy.objects.filter(person=Person.objects.by_id_number(MOTHER_ID).get()).count() == 1
    assert Order.objects.count() == 1


def test_estimator_computes_with_the_rule_engine(client, products):
    url = reverse("enrollment:estimate", args=["wuwei-2025", "basic"])
    page = client.post(url, {"in_catalog_self_pay": "30000", "out_of_catalog": "", "heavy_ion": ""}).content.decode()
    assert "5,400.00 元" in page


def test_estimator_names_the_bad_field(client, products):
    url = reverse("enrollment:estimate", args=["wuwei-2025", "basic"])
    response = client.post(url, {"in_catalog_self_pay": "abc"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "医保目录内个人自付" in response.content.decode()


def test_when_the_registry_does_not_answer_nothing_is_sold(signed_in, in_window, settings):
    settings.HSA_SERVICE_URL, settings.HSA_TIMEOUT_SECONDS = "http://127.0.0.1:1/callService", 1
    response = signed_in.post(BUY_URL, people_post(("张桂兰", SELF_ID, "self")))
    assert response.status_code == 422
    assert "请稍后重试" in response.content.decode()
    assert not Order.objects.exists()
