"""A policy's own cover dates: never before payment (resident, group order by bank transfer, the
charity fund), the version's windows checked when publishing, and settlements that arrived before
the policy was active matched once it is."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from claims import services as claims
from claims.models import Claim, Settlement
from enrollment import billing, fund, lists, organizations, services, validation
from enrollment.models import CharityFund, Order, Plan, Policy, ProductVersion, Program
from tests.factories import (
    SELF_ID,
    make_id,
    make_resident,
    pending_order,
    roster,
    settlement_record,
    settlement_source,
    sold_policy,
    staff_user,
)

pytestmark = pytest.mark.django_db
WORKER = make_id("62060219800101011")


def pay_online(order):
    from tests.factories import pay_on_provider

    pay_on_provider(billing.payment_start(order=order, method="online"))
    assert billing.order_refresh(order=order) == "applied"


@pytest.fixture
def late_sales(draft_version):
    """wuwei-2026, on sale from June to the end of September while cover runs from 1 July."""
    draft_version.sales_start, draft_version.sales_end = date(2026, 6, 1), date(2026, 9, 30)
    draft_version.coverage_start, draft_version.coverage_end = date(2026, 7, 1), date(2027, 6, 30)
    draft_version.save()
    return services.version_publish(version=draft_version)


def test_a_resident_buying_after_cover_began_is_covered_from_the_next_day(late_sales):
    roster(SELF_ID, "张桂兰")
    resident = make_resident()
    with time_machine.travel("2026-08-10 15:00 +08:00", tick=True):
        order = pending_order(resident, product="wuwei-2026")
        pay_online(order)
    policy = order.policies.get()
    assert (policy.coverage_start, policy.coverage_end) == (date(2026, 8, 11), date(2027, 6, 30))
    with time_machine.travel("2026-08-10 20:00 +08:00"):
        assert policy.state_label == "待生效"
    with time_machine.travel("2026-08-11 00:01 +08:00"):
        assert policy.state_label == "保障中"


def test_buying_before_cover_begins_starts_with_the_version(late_sales):
    roster(SELF_ID, "张桂兰")
    with time_machine.travel("2026-06-15 10:00 +08:00", tick=True):
        order = pending_order(make_resident(), product="wuwei-2026")
        pay_online(order)
    assert order.policies.get().coverage_start == date(2026, 7, 1)


def test_a_stay_before_a_late_buyers_cover_is_not_paid(late_sales):
    roster(SELF_ID, "张桂兰")
    with time_machine.travel("2026-08-10 15:00 +08:00", tick=True):
        order = pending_order(make_resident(), product="wuwei-2026")
        pay_online(order)
    source = settlement_source()
    before, after = claims.settlements_receive(source=source, records=[
        settlement_record("S-BEFORE", admission="2026-08-05", settled="2026-08-12T10:00:00+08:00"),
        settlement_record("S-AFTER", admission="2026-08-12", settled="2026-08-20T10:00:00+08:00")])
    assert before.settlement.match_status == Settlement.UNMATCHED
    assert after.settlement.policy == order.policies.get()


# --- Group orders paid by bank transfer, the charity fund -------------------------------------------------


@pytest.fixture
def group_order(products, settings, tmp_path):
    """An employer's list confirmed on 28 June 2025 (wuwei-2025 cover starts 1 July)."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.GROUP_ORDER_TTL_HOURS = 24 * 10
    from stdnum.cn import uscc

    roster(WORKER, "赵一")
    manager = make_resident(phone="13900000001", name=None, id_number=None)
    with time_machine.travel("2025-06-28 10:00 +08:00", tick=True):
        organization = organizations.organization_register(
            resident=manager, name="武威市示例建材有限公司", credit_code="91620600MA71X0AB3" + uscc.calc_check_digit(
                "91620600MA71X0AB3"), kind="employer", contact_name="马经理", contact_phone="0935-1234567")
        organization.approve()
        organization.save()
        beneficiaries = lists.list_upload(
            resident=manager, organization=organization, campaign=None,
            plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"), filename="a.csv",
            data=f"姓名,身份证号,手机号\n赵一,{WORKER},\n".encode())
        lists.list_validate(list_id=beneficiaries.pk)
        return lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)


def test_a_late_bank_transfer_is_not_covered_retroactively(group_order):
    staff = staff_user("finance", superuser=True)
    with time_machine.travel("2025-07-03 10:00 +08:00", tick=True):
        assert billing.bank_transfer_confirm(order=group_order, reference="B-1", amount=group_order.amount,
                                             user=staff) == "applied"
    # Was 1 July: the version's start, before the money arrived.
    assert group_order.policies.get().coverage_start == date(2025, 7, 4)


def test_cover_counts_from_the_day_the_money_arrived(group_order):
    staff = staff_user("finance", superuser=True)
    with time_machine.travel("2025-07-06 10:00 +08:00", tick=True):
        with pytest.raises(billing.PaymentRefused) as future:
            billing.bank_transfer_confirm(order=group_order, reference="B-1", amount=group_order.amount,
                                          user=staff, received_on=date(2025, 7, 7))
        assert future.value.code == "received_on_invalid"
        billing.bank_transfer_confirm(order=group_order, reference="B-1", amount=group_order.amount, user=staff,
                                      received_on=date(2025, 7, 2))
    assert group_order.policies.get().coverage_start == date(2025, 7, 3)


def test_a_fund_allocation_after_cover_began_starts_the_next_day(products):
    charity = CharityFund.objects.create(program=Program.objects.get(code="wuwei"), name="爱心基金")
    staff = staff_user("fund-officer", superuser=True)
    fund.donation_record(fund=charity, amount="100.00", donor_name="某基金会", reference="R1", user=staff)
    roster(SELF_ID, "张桂兰")
    with time_machine.travel("2025-09-01 10:00 +08:00", tick=True):
        entry = fund.allocate(fund=charity, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                              name="张桂兰", id_number=SELF_ID, user=staff, note="特困人员")
    assert entry.policy.coverage_start == date(2025, 9, 2)


def test_the_programs_rule_can_start_cover_on_the_day_of_payment(late_sales):
    Program.objects.filter(code="wuwei").update(cover_start_delay_days=0)
    roster(SELF_ID, "张桂兰")
    with time_machine.travel("2026-08-10 15:00 +08:00", tick=True):
        order = pending_order(make_resident(), product="wuwei-2026")
        pay_online(order)
    assert order.policies.get().coverage_start == date(2026, 8, 10)


# --- Publishing refuses inconsistent windows ------------------------------------------------------------


@pytest.mark.parametrize(("change", "words"), [
    ({"coverage_start": date(2026, 5, 1)}, "早于销售开始日期"),
    ({"sales_end": date(2027, 6, 30)}, "晚于保障结束日期"),
    ({"coverage_end": date(2027, 7, 1)}, "不能超过1年"),
])
def test_publishing_refuses_inconsistent_windows(draft_version, change, words):
    draft_version.sales_start, draft_version.sales_end = date(2026, 6, 1), date(2026, 6, 30)
    draft_version.coverage_start, draft_version.coverage_end = date(2026, 7, 1), date(2027, 6, 30)
    for key, value in change.items():
        setattr(draft_version, key, value)
    draft_version.save()
    with pytest.raises(ValidationError) as refused:
        services.version_publish(version=draft_version)
    assert any(words in message for message in refused.value.messages)
    assert ProductVersion.objects.get(pk=draft_version.pk).status == ProductVersion.DRAFT


def test_the_shipped_windows_are_consistent(products):
    for version in ProductVersion.objects.select_related("program"):
        assert validation.window_errors(
            sales_start=version.sales_start, sales_end=version.sales_end, coverage_start=version.coverage_start,
            coverage_end=version.coverage_end, delay_days=version.program.cover_start_delay_days) == []


# --- Re-matching ----------------------------------------------------------------------------------------


def test_a_settlement_that_arrived_before_payment_is_matched_when_the_transfer_is_confirmed(group_order):
    source = settlement_source()
    with time_machine.travel("2025-07-05 10:00 +08:00", tick=True):
        stored = claims.settlement_receive(source=source, record=settlement_record(
            "S-EARLY", id_number=WORKER, admission="2025-07-02", settled="2025-07-04T10:00:00+08:00")).settlement
    assert stored.match_status == Settlement.UNMATCHED  # the group order is not paid yet
    staff = staff_user("finance", superuser=True)
    with time_machine.travel("2025-07-06 10:00 +08:00", tick=True):
        billing.bank_transfer_confirm(order=group_order, reference="B-1", amount=group_order.amount, user=staff,
                                      received_on=date(2025, 6, 30))
    policy = group_order.policies.get()
    assert policy.coverage_start == date(2025, 7, 1)
    # What the activation enqueues on commit (a worker runs it: tests/integration/test_rematch_worker.py).
    assert claims.settlements_rematch(policy_ids=[policy.pk]) == 1
    stored.refresh_from_db()
    assert (stored.match_status, stored.policy) == (Settlement.MATCHED, policy)
    claims.policy_year_recompute(policy_id=policy.pk)
    assert Claim.objects.get(settlement=stored).payout == Decimal("5400.00")
    assert claims.settlements_rematch(policy_ids=[policy.pk]) == 0  # once


def test_the_daily_job_matches_any_left(products):
    source = settlement_source()
    record = settlement_record("S-LEFT", admission="2025-08-01")
    stored = claims.settlement_receive(source=source, record=record).settlement
    assert stored.match_status == Settlement.UNMATCHED
    policy = sold_policy("wuwei-2025", "张桂兰", SELF_ID, number="1")  # written without the activation step
    other = claims.settlement_receive(source=source, record=settlement_record(
        "S-OUTSIDE", admission="2026-08-01", settled="2026-08-09T10:00:00+08:00")).settlement
    assert claims.settlements_rematch() == 1
    stored.refresh_from_db()
    other.refresh_from_db()
    assert stored.policy == policy and other.match_status == Settlement.UNMATCHED


def test_an_expired_order_does_not_cover(products):
    roster(SELF_ID, "张桂兰")
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        order = pending_order(make_resident())
    with time_machine.travel("2025-06-15 11:00 +08:00", tick=True):
        billing.orders_expire()
    order.refresh_from_db()
    assert order.status == Order.EXPIRED and order.policies.get().state_label == "未支付已失效"
    assert not Policy.objects.filter(status=Policy.ACTIVE).exists()
