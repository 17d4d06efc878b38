"""The charity fund: donations in, allocations out as paid policies; the ledger always balances and
never goes below zero, also when staff allocate at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connections
from django.db.models import Sum

from enrollment import fund
from enrollment.models import CharityFund, FundEntry, Order, Plan, Policy, Program
from enrollment.organizations import Refused
from tests.factories import SELF_ID, UNINSURED_ID, make_id, roster, staff_user

pytestmark = pytest.mark.django_db
IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"


@pytest.fixture
def charity(products):
    return CharityFund.objects.create(program=Program.objects.get(code="wuwei"), name="爱心基金")


def plan():
    return Plan.objects.get(version__slug="wuwei-2025", code="basic")


def balanced(charity) -> bool:
    charity.refresh_from_db()
    total = FundEntry.objects.filter(fund=charity).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    return total == charity.balance


def test_a_donation_and_an_allocation_make_a_paid_policy_and_balance(charity):
    staff = staff_user("fund-officer", superuser=True)
    fund.donation_record(fund=charity, amount="100.00", donor_name="某慈善基金会", reference="BANK-1", user=staff)
    roster(SELF_ID, "张桂兰", medical_assistance=True)
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        entry = fund.allocate(fund=charity, plan=plan(), name="张桂兰", id_number=SELF_ID, user=staff,
                              note="医疗救助对象")
    assert entry.amount == Decimal("-69.00") and entry.balance_after == Decimal("31.00")
    policy = entry.policy
    assert (policy.status, policy.channel, policy.medical_assistance) == (Policy.ACTIVE, "fund", True)
    assert policy.order.status == Order.PAID and policy.order.method == "fund"
    assert balanced(charity) and charity.balance == Decimal("31.00")


def test_a_refused_allocation_changes_nothing(charity):
    staff = staff_user("fund-officer", superuser=True)
    fund.donation_record(fund=charity, amount="50.00", donor_name="王先生", reference="BANK-2", user=staff)
    roster(SELF_ID, "张桂兰")
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        with pytest.raises(Refused) as short:
            fund.allocate(fund=charity, plan=plan(), name="张桂兰", id_number=SELF_ID, user=staff, note="特困人员")
        with pytest.raises(Refused) as uninsured:
            fund.allocate(fund=charity, plan=plan(), name="无医保", id_number=UNINSURED_ID, user=staff, note="特困")
    assert short.value.code == "fund_insufficient" and "50.00" in short.value.message
    assert uninsured.value.code == "not_insured"
    assert not Policy.objects.exists() and not Order.objects.exists()
    assert balanced(charity) and charity.balance == Decimal("50.00")


def test_a_bank_reference_is_credited_once_and_amounts_are_checked(charity):
    staff = staff_user("fund-officer", superuser=True)
    fund.donation_record(fund=charity, amount="10.00", donor_name="李女士", reference="BANK-3", user=staff)
    with pytest.raises(Refused) as again:
        fund.donation_record(fund=charity, amount="10.00", donor_name="李女士", reference="BANK-3", user=staff)
    for bad in ("-5", "0", "1.234", "abc", "NaN"):
        with pytest.raises(Refused) as wrong:
            fund.donation_record(fund=charity, amount=bad, donor_name="李女士", reference=f"R{bad}", user=staff)
        assert wrong.value.field == "amount"
    assert again.value.code == "reference_used"
    assert balanced(charity) and charity.balance == Decimal("10.00")


def test_the_database_refuses_a_negative_balance(charity):
    charity.balance = Decimal("-0.01")
    with pytest.raises(IntegrityError):
        charity.save()


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_overdraw_the_fund(products):
    charity = CharityFund.objects.create(program=Program.objects.get(code="wuwei"), name="爱心基金")
    staff = staff_user("fund-officer", superuser=True)
    fund.donation_record(fund=charity, amount="345.00", donor_name="某公司", reference="BANK-9", user=staff)  # 5 × 69
    people = [(f"受助{chr(0x4e00 + n)}{chr(0x4e00 + n)}", make_id(f"620602196001{n + 1:02d}{n:03d}")) for n in range(12)]
    for name, id_number in people:
        roster(id_number, name)
    chosen = plan()

    def allocate(person):
        try:
            return fund.allocate(fund=charity, plan=chosen, name=person[0], id_number=person[1], user=staff,
                                 note="医疗救助对象").policy.number
        except Refused as refused:
            return refused.code
        finally:
            connections.close_all()

    with time_machine.travel(IN_SALES_WINDOW, tick=True), ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(allocate, people))
    assert outcomes.count("fund_insufficient") == 7
    assert Policy.objects.filter(channel="fund", status=Policy.ACTIVE).count() == 5
    assert balanced(charity) and charity.balance == Decimal("0.00")
