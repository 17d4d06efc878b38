"""Districts by 参保地: a policy counts in the district where the registry says the person is insured
(the denominator's people), not in the ID number's region (户籍)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine

from enrollment import billing, fund
from enrollment.models import CharityFund, Plan, ProductVersion, Program
from supervision import selectors
from supervision.models import DistrictPopulation
from tests.factories import MOTHER_ID, SELF_ID, make_resident, pending_order, roster, staff_user

pytestmark = pytest.mark.django_db


def pay(order):
    from tests.factories import pay_on_provider

    pay_on_provider(billing.payment_start(order=order, method="online"))
    assert billing.order_refresh(order=order) == "applied"


@pytest.fixture
def districts(products):
    version = ProductVersion.objects.get(slug="wuwei-2025")
    for code, name in (("620602", "凉州区"), ("620621", "民勤县")):
        DistrictPopulation.objects.create(program=version.program, year=2025, region_code=code, name=name,
                                          eligible=100)
    return version


def rows(version):
    return {row.label: row.people for row in selectors.enrollment(version).districts}


def test_a_person_registered_in_one_district_and_insured_in_another_counts_where_insured(districts):
    roster(SELF_ID, "张桂兰", region="620621")  # ID from 凉州区 (620602), insured in 民勤县
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        order = pending_order(make_resident())
        pay(order)
    assert order.policies.get().insured_region == "620621"
    assert rows(districts) == {"凉州区": 0, "民勤县": 1}  # was 凉州区 1, 民勤县 0


def test_a_fund_allocation_keeps_the_insured_region_too(districts):
    charity = CharityFund.objects.create(program=Program.objects.get(code="wuwei"), name="爱心基金")
    staff = staff_user("fund-officer", superuser=True)
    fund.donation_record(fund=charity, amount="100.00", donor_name="某基金会", reference="R1", user=staff)
    roster(MOTHER_ID, "李秀英", region="620621")
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        entry = fund.allocate(fund=charity, plan=Plan.objects.get(version=districts, code="basic"), name="李秀英",
                              id_number=MOTHER_ID, user=staff, note="特困人员")
    assert entry.policy.insured_region == "620621" and entry.amount == Decimal("-69.00")
    assert rows(districts)["民勤县"] == 1


def test_a_list_row_carries_the_insured_region_to_its_policy(districts, settings, tmp_path):
    from stdnum.cn import uscc

    from enrollment import lists, organizations
    from tests.factories import make_id

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    worker = make_id("62060219800101011")
    roster(worker, "赵一", region="620621")
    manager = make_resident(phone="13900000001", name=None, id_number=None)
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        employer = organizations.organization_register(
            resident=manager, name="示例公司", credit_code="91620600MA71X0AB3" + uscc.calc_check_digit(
                "91620600MA71X0AB3"), kind="employer", contact_name="马", contact_phone="0935-1234567")
        employer.approve()
        employer.save()
        beneficiaries = lists.list_upload(resident=manager, organization=employer, plan=Plan.objects.get(
            version=districts, code="basic"), filename="a.csv", data=f"姓名,身份证号,手机号\n赵一,{worker},\n".encode())
        lists.list_validate(list_id=beneficiaries.pk)
        order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
        billing.bank_transfer_confirm(order=order, reference="B-1", amount=order.amount,
                                      user=staff_user("finance", superuser=True))
    assert order.policies.get().insured_region == "620621"
    assert rows(districts) == {"凉州区": 0, "民勤县": 1}
