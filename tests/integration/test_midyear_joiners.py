"""Mid-year joiners (Weihai: 当年的退役军人及新生儿可在参加基本医疗保险时同步投保): a newborn or this
year's veteran who joined basic insurance within the program's days may buy after the sales window,
covered from the next day to the version's end, paying the premium pro-rata by month; everyone else
is refused outside the window, and the refusal names the rule, not the person's status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from enrollment import billing, midyear, services
from enrollment.models import Plan, Program
from enrollment.selectors import PersonInput
from tests.factories import WEIHAI_ID, make_id, make_resident, pay_on_provider, roster

pytestmark = pytest.mark.django_db

NEWBORN_ID = make_id("37100220250801001")  # born 1 August 2025, insured in Weihai
VETERAN_ID = make_id("37100219990101002")
NEIGHBOUR_ID = make_id("37100219880101003")
AUGUST = "2025-08-20 10:00 +08:00"  # weihai-2025: sales closed on 31 Dec 2024, cover runs through 2025


@pytest.fixture
def parent(products):
    roster(WEIHAI_ID, "王建国")
    return make_resident(phone="13900000009", name="王建国", id_number=WEIHAI_ID)


def buy(resident, *people):
    return services.order_create(
        resident=resident,
        plan=Plan.objects.get(version__slug="weihai-2025", code="standard"),
        people=[PersonInput(*person) for person in people],
        accepted={"terms", "privacy"},
    )


def test_a_newborn_is_bought_for_after_the_window_from_the_next_day_at_a_monthly_premium(parent):
    roster(NEWBORN_ID, "王小宝", newborn=True, joined_on=date(2025, 8, 10))
    with time_machine.travel(AUGUST, tick=True):
        order = buy(parent, ("王小宝", NEWBORN_ID, "child"))
        pay_on_provider(billing.payment_start(order=order, method="online"))
        assert billing.order_refresh(order=order) == "applied"
    policy = order.policies.get()
    assert (policy.coverage_start, policy.coverage_end) == (date(2025, 8, 21), date(2025, 12, 31))
    full = Plan.objects.get(version__slug="weihai-2025", code="standard").price_for_age(0)
    # August to December: 5 of the version's 12 months.
    assert policy.premium == order.amount == (full * 5 / 12).quantize(Decimal("0.01"))
    assert policy.premium < full


def test_full_premium_when_the_program_says_so(parent):
    Program.objects.filter(code="weihai").update(midyear_premium=Program.PREMIUM_FULL)
    roster(VETERAN_ID, "赵卫国", veteran=True, joined_on=date(2025, 8, 1))
    with time_machine.travel(AUGUST, tick=True):
        order = buy(parent, ("赵卫国", VETERAN_ID, "other"))
    full = Plan.objects.get(version__slug="weihai-2025", code="standard").price_for_age(26)
    assert order.amount == full


def test_a_joiner_past_the_programs_days_is_refused_with_the_rule(parent):
    roster(NEWBORN_ID, "王小宝", newborn=True, joined_on=date(2025, 6, 1))  # 80 days before
    with time_machine.travel(AUGUST, tick=True), pytest.raises(services.PurchaseRefused) as refused:
        buy(parent, ("王小宝", NEWBORN_ID, "child"))
    code, message = refused.value.errors["people-0-registry"][0]
    assert code == "sales_closed"
    assert "新生儿、当年退役军人可在参加基本医疗保险之日起30日内投保" in message


def test_someone_who_is_no_joiner_is_refused_without_disclosing_why(parent):
    roster(NEIGHBOUR_ID, "陈明", joined_on=date(2025, 8, 15))  # newly insured, neither newborn nor veteran
    roster(VETERAN_ID, "赵卫国", veteran=True, joined_on=date(2025, 8, 1))
    with time_machine.travel(AUGUST, tick=True), pytest.raises(services.PurchaseRefused) as refused:
        buy(parent, ("陈明", NEIGHBOUR_ID, "other"), ("赵卫国", VETERAN_ID, "other"))
    assert set(refused.value.errors) == {"people-0-registry"}  # the veteran alone would be accepted
    assert "退役军人身份" not in refused.value.errors["people-0-registry"][0][1]
    # and nothing was written
    assert not parent.orders.exists()


def test_the_resident_himself_is_refused_outside_the_window(parent):
    with time_machine.travel(AUGUST, tick=True), pytest.raises(services.PurchaseRefused) as refused:
        buy(parent, ("王建国", WEIHAI_ID, "self"))
    assert refused.value.code == "sales_closed"


def test_a_program_without_joiners_refuses_after_its_window(products):
    roster(make_id("62060220250801004"), "张小宝", newborn=True, joined_on=date(2025, 8, 10))
    resident = make_resident()
    with time_machine.travel("2025-08-20 10:00 +08:00", tick=True), pytest.raises(services.PurchaseRefused) as refused:
        services.order_create(resident=resident, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                              people=[PersonInput("张小宝", make_id("62060220250801004"), "child")],
                              accepted={"terms", "privacy"})
    assert refused.value.code == "sales_closed"
    assert set(refused.value.errors) == {"sales_window"}


def test_no_joining_once_cover_would_start_after_the_version_ends(parent):
    roster(NEWBORN_ID, "王小宝", newborn=True, joined_on=date(2025, 12, 20))
    with time_machine.travel("2025-12-31 10:00 +08:00", tick=True), pytest.raises(services.PurchaseRefused) as refused:
        buy(parent, ("王小宝", NEWBORN_ID, "child"))
    assert set(refused.value.errors) == {"sales_window"}


def test_terms_count_the_month_cover_starts_in(products):
    version = Plan.objects.get(version__slug="weihai-2025", code="standard").version
    assert midyear.terms(version, date(2025, 1, 5)).months == 12
    assert midyear.terms(version, date(2025, 11, 30)).months == 1  # cover from 1 December
    assert midyear.terms(version, date(2025, 11, 30)).premium(Decimal("109.00")) == Decimal("9.08")


def test_an_employers_list_after_the_window_keeps_only_mid_year_joiners(parent, settings, tmp_path):
    from stdnum.cn import uscc

    from enrollment import lists, organizations
    from enrollment.models import BeneficiaryList

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    roster(NEWBORN_ID, "王小宝", newborn=True, joined_on=date(2025, 8, 10))
    roster(NEIGHBOUR_ID, "陈明", joined_on=date(2025, 8, 15))
    with time_machine.travel(AUGUST, tick=True):
        code = "91371000MA3C00001"
        organization = organizations.organization_register(
            resident=parent, name="威海市示例渔业有限公司", credit_code=code + uscc.calc_check_digit(code),
            kind="employer", contact_name="王经理", contact_phone="0631-1234567")
        organization.approve()
        organization.save()
        data = f"姓名,身份证号,手机号\n王小宝,{NEWBORN_ID},\n陈明,{NEIGHBOUR_ID},\n".encode()
        beneficiaries = lists.list_upload(resident=parent, organization=organization, campaign=None,
                                          plan=Plan.objects.get(version__slug="weihai-2025", code="standard"),
                                          filename="名单.csv", data=data)
        assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.VALIDATED
    rows = {r.name: r for r in beneficiaries.rows.all()}
    full = Plan.objects.get(version__slug="weihai-2025", code="standard").price_for_age(0)
    assert rows["王小宝"].status == "valid" and rows["王小宝"].price == (full * 5 / 12).quantize(Decimal("0.01"))
    assert (rows["陈明"].status, rows["陈明"].code) == ("invalid", "sales_closed")


def test_the_purchase_pages_state_the_mid_year_rule(parent, client):
    client.force_login(parent.user)
    with time_machine.travel(AUGUST, tick=True):
        page = client.get("/buy/weihai-2025/")
    text = page.content.decode()
    assert "新生儿、当年退役军人可在参加基本医疗保险之日起30日内投保" in text
    assert "保费按剩余保障月数折算" in text
