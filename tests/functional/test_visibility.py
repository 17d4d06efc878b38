"""Who sees and manages each policy: the insured person and the resident who paid with his own
money; an organization's (or a donor's) policies only on its list's pages, cancelled there with the
refund to the payer, the list row always agreeing with the policy."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from stdnum.cn import uscc

from enrollment import billing, identity, lists, organizations
from enrollment.models import BeneficiaryRow, Order, OrganizationMember, Plan, Policy, Refund
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    active_policy,
    add_member,
    carrier_line,
    login_as,
    make_id,
    make_resident,
    pay_on_provider,
    roster,
)

pytestmark = pytest.mark.django_db
IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"
MANAGER_ID = make_id("62060219700101123")
COLLEAGUE_ID = make_id("62060219720303123")
CLERK_ID = make_id("62060219730303124")


@pytest.fixture(autouse=True)
def _window(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        yield


def signed_in(resident) -> Client:
    client = Client()
    login_as(client, resident.user)
    return client


@pytest.fixture
def employer(products):
    for id_number, name in ((MANAGER_ID, "马经理"), (COLLEAGUE_ID, "朱同事"), (CLERK_ID, "钱经办"), (SELF_ID, "张桂兰"),
                            (MOTHER_ID, "李秀英")):
        roster(id_number, name)
    manager = make_resident("13800000004", "马经理", MANAGER_ID)
    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code="91620600MA71X0AB3" + uscc.calc_check_digit(
            "91620600MA71X0AB3"), kind="employer", contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    return organization, manager


def insure_staff(organization, manager, *, bank=False):
    """The employer insures its manager and a colleague, and pays."""
    beneficiaries = lists.list_upload(
        resident=manager, organization=organization, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
        filename="职工.csv", data=f"姓名,身份证号,手机号\n马经理,{MANAGER_ID},\n朱同事,{COLLEAGUE_ID},\n".encode())
    lists.list_validate(list_id=beneficiaries.pk)
    order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    if bank:
        billing.bank_transfer_confirm(order=order, reference="B-20250615-1", amount=order.amount, user=manager.user)
    else:
        pay_on_provider(billing.payment_start(order=order, method="online"))
        billing.order_refresh(order=order)
    beneficiaries.refresh_from_db()
    return beneficiaries


def test_an_employers_policy_never_shows_in_the_operators_own_policies(employer):
    organization, manager = employer
    beneficiaries = insure_staff(organization, manager)
    colleague_policy = Policy.objects.get(person__name="朱同事")
    own_policy = Policy.objects.get(person__name="马经理")
    client = signed_in(manager)
    page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert colleague_policy.number not in page  # bought with the organization's money, not his
    assert own_policy.number in page and "单位团体 · 他人为您投保" in page  # he is insured himself
    for number in (colleague_policy.number, own_policy.number):
        assert client.get(reverse("enrollment:policy_cancel", args=[number])).status_code == 404
        assert client.post(reverse("enrollment:policy_cancel", args=[number])).status_code == 404
    assert client.get(reverse("enrollment:policy_detail", args=[colleague_policy.number])).status_code == 404
    assert client.get(reverse("enrollment:order_detail", args=[beneficiaries.order.number])).status_code == 404
    assert "退保" not in client.get(reverse("enrollment:policy_detail", args=[own_policy.number])).content.decode()
    with pytest.raises(billing.PaymentRefused) as refused:
        billing.policy_cancel(policy=colleague_policy, resident=manager)
    assert refused.value.code == "not_yours"

    # The colleague, once he binds his account, reads his policy; he did not pay, so he cannot cancel it.
    colleague = signed_in(make_resident("13800000006", "朱同事", COLLEAGUE_ID))
    assert colleague_policy.number in colleague.get(reverse("enrollment:my_policies")).content.decode()
    assert colleague.get(reverse("enrollment:policy_cancel", args=[colleague_policy.number])).status_code == 404


def test_the_organization_cancels_on_its_list_and_the_row_agrees(employer):
    organization, manager = employer
    beneficiaries = insure_staff(organization, manager)
    row = beneficiaries.rows.get(name="朱同事")
    clerk = make_resident("13800000007", "钱经办", CLERK_ID)
    add_member(organization, manager, clerk)  # an operator, not a manager: cannot cancel
    refused = signed_in(clerk).post(reverse("enrollment:row_cancel", args=[beneficiaries.number, row.pk]), follow=True)
    assert "只有单位管理员可以进行此操作" in refused.content.decode()
    row.refresh_from_db()
    assert row.status == BeneficiaryRow.ISSUED

    client = signed_in(manager)
    page = client.post(reverse("enrollment:row_cancel", args=[beneficiaries.number, row.pk]), follow=True)
    assert "已退保，保费退回出资方" in page.content.decode()
    row.refresh_from_db()
    row.policy.refresh_from_db()
    assert (row.status, row.policy.status) == (BeneficiaryRow.CANCELLED, Policy.CANCELLED)
    refund = Refund.objects.get()
    assert refund.payment.order == beneficiaries.order and refund.amount == row.policy.premium
    assert refund.status == "processing"  # back to the organization's payment: WeChat Pay accepted it
    assert Order.objects.get(pk=beneficiaries.order_id).status == Order.PAID  # the manager's own policy stays
    # Twice is refused, and changes nothing.
    again = client.post(reverse("enrollment:row_cancel", args=[beneficiaries.number, row.pk]), follow=True)
    assert "只有已出单的人员可以退保" in again.content.decode() and Refund.objects.count() == 1


def test_a_refusal_by_the_provider_leaves_row_and_policy_as_they_were(employer, monkeypatch):
    organization, manager = employer
    beneficiaries = insure_staff(organization, manager)
    row = beneficiaries.rows.get(name="朱同事")

    def refuse(*args, **kwargs):
        raise billing.PaymentRefused("refund_failed", "退款未成功：渠道维护")

    monkeypatch.setattr(billing, "_refund_payment", refuse)
    with pytest.raises(organizations.Refused):
        lists.row_cancel(beneficiaries=beneficiaries, row_id=row.pk, by=manager)
    row.refresh_from_db()
    row.policy.refresh_from_db()
    assert (row.status, row.policy.status) == (BeneficiaryRow.ISSUED, Policy.ACTIVE)


def test_a_bank_transfer_is_refunded_by_staff_to_the_organization(employer):
    organization, manager = employer
    beneficiaries = insure_staff(organization, manager, bank=True)
    row = beneficiaries.rows.get(name="朱同事")
    lists.row_cancel(beneficiaries=beneficiaries, row_id=row.pk, by=manager)
    refund = Refund.objects.get()
    assert (refund.status, refund.payment.method) == ("pending", "bank_transfer") and "对公转账退回" in refund.reason


def test_another_organization_cannot_touch_the_list(employer, products):
    organization, manager = employer
    beneficiaries = insure_staff(organization, manager)
    outsider = make_resident("13800000005", "李秀英", MOTHER_ID)
    row = beneficiaries.rows.get(name="朱同事")
    assert signed_in(outsider).post(reverse("enrollment:row_cancel", args=[beneficiaries.number, row.pk])).status_code == 404
    assert not OrganizationMember.objects.filter(resident=outsider).exists()


def test_a_policy_bought_for_someone_is_read_by_both_and_cancelled_by_the_payer(employer):
    daughter = make_resident("13800000002", "李秀英", MOTHER_ID)
    mother = make_resident("13800000001", "张桂兰", SELF_ID)
    policy = active_policy(daughter, ("张桂兰", SELF_ID, "parent"))
    insured = signed_in(mother)
    assert policy.number in insured.get(reverse("enrollment:my_policies")).content.decode()
    detail = insured.get(reverse("enrollment:policy_detail", args=[policy.number])).content.decode()
    assert policy.number in detail and "退保" not in detail
    assert insured.get(reverse("enrollment:policy_cancel", args=[policy.number])).status_code == 404
    payer = signed_in(daughter)
    assert "退保" in payer.get(reverse("enrollment:policy_detail", args=[policy.number])).content.decode()
    assert payer.post(reverse("enrollment:policy_cancel", args=[policy.number])).status_code == 302
    policy.refresh_from_db()
    assert policy.status == Policy.CANCELLED


def test_a_policy_bought_as_oneself_is_lost_with_the_identity(employer, django_capture_on_commit_callbacks):
    """A stranger binds the owner's ID, buys "for himself", and the owner takes the ID back: the
    policy is hers; the stranger, bound later to his own identity, does not see it."""
    carrier_line("13800000001", SELF_ID, "张桂兰")
    stranger = make_resident("13900000002", id_number=None)
    identity.resident_bind(resident=stranger, name="张桂兰", id_number=SELF_ID)
    stranger.refresh_from_db()
    policy = active_policy(stranger, ("张桂兰", SELF_ID, "self"))
    owner = make_resident("13800000001", id_number=None)
    with django_capture_on_commit_callbacks(execute=True):
        identity.resident_bind_by_phone(resident=owner, name="张桂兰", id_number=SELF_ID)
    stranger.refresh_from_db()
    identity.resident_bind(resident=stranger, name="李秀英", id_number=MOTHER_ID)
    page = signed_in(stranger).get(reverse("enrollment:my_policies")).content.decode()
    assert policy.number not in page
    assert signed_in(stranger).get(reverse("enrollment:policy_cancel", args=[policy.number])).status_code == 404
    assert policy.number in signed_in(owner).get(reverse("enrollment:my_policies")).content.decode()
