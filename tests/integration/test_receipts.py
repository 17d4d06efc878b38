"""Receipts by channel: an employer or a collective paying for its own people gets a premium receipt
(团体投保保费凭证) with the year's payroll and cumulative figures; a donor gets the donation receipt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from enrollment import billing, epolicy, lists, organizations
from enrollment.models import CampaignKind, Plan
from portal.integrations import signing
from tests.factories import login_as, make_id, make_resident, roster, staff_user
from tests.integration.test_cover_dates import WORKER, group_order  # noqa: F401 - the fixture
from tests.integration.test_epolicy import dev_root, text_of

pytestmark = pytest.mark.django_db
SECOND = make_id("62060219810202022")


def pay(order, reference, day="2025-06-30"):
    with time_machine.travel(f"{day} 10:00 +08:00", tick=True):
        assert billing.bank_transfer_confirm(order=order, reference=reference, amount=order.amount,
                                             user=staff_user(f"finance-{reference}", superuser=True)) == "applied"
    order.refresh_from_db()


def test_an_employer_buying_for_its_staff_gets_a_premium_receipt_not_a_donation_receipt(group_order):  # noqa: F811
    pay(group_order, "B-1")
    title, rows, footer = epolicy.receipt_content(group_order)
    labels = dict(rows)
    assert title.endswith("团体投保保费凭证") and "捐赠" not in title  # was 捐赠投保回执
    assert "捐赠方" not in labels and labels["投保单位"] == "武威市示例建材有限公司"
    assert labels["本年度职工工资总额"].startswith("未申报")
    assert labels["本年度累计团体保费（含本单）"] == "69.00 元"
    assert "5%" in footer
    data = epolicy.render_receipt(group_order)
    text = text_of(data)
    assert "团体投保保费凭证" in text and "捐赠" not in text and "武威市示例建材有限公司" in text
    [signature] = signing.verify_pdf(data, [dev_root()])
    assert signature.intact and signature.valid and signature.trusted and "团体投保保费凭证" in signature.reason


def test_the_premium_receipt_shows_the_payroll_limit_and_what_was_paid_this_year(group_order):  # noqa: F811
    organization = group_order.organization
    manager = group_order.resident
    with time_machine.travel("2025-06-29 10:00 +08:00", tick=True):
        with pytest.raises(organizations.Refused):
            organizations.payroll_declare(organization=organization, by=manager, year=2025, amount=Decimal("0"))
        organizations.payroll_declare(organization=organization, by=manager, year=2025, amount=Decimal("1000.00"))
    pay(group_order, "B-1")
    # A second list later in the year: the cumulative figure counts both orders.
    roster(SECOND, "钱二")
    with time_machine.travel("2025-06-30 11:00 +08:00", tick=True):
        second_list = lists.list_upload(resident=manager, organization=organization,
                                        plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                                        filename="b.csv", data=f"姓名,身份证号,手机号\n钱二,{SECOND},\n".encode())
        lists.list_validate(list_id=second_list.pk)
        second = lists.list_confirm(beneficiaries=second_list, by=manager, declared=True)
    pay(second, "B-2", day="2025-07-01")
    first_rows, second_rows = dict(epolicy.receipt_content(group_order)[1]), dict(epolicy.receipt_content(second)[1])
    assert first_rows["本年度累计团体保费（含本单）"] == "69.00 元"
    assert second_rows["本年度累计团体保费（含本单）"] == "138.00 元"
    assert second_rows["本年度职工工资总额"] == "1000.00 元"
    assert second_rows["税前扣除限额（工资总额5%）"] == "50.00 元"
    assert second_rows["累计占工资总额比例"] == "13.80%"
    assert second_rows["超出限额部分"] == "88.00 元"


def test_a_campaign_organizer_gets_the_donation_receipt(group_order):  # noqa: F811
    organization, manager = group_order.organization, group_order.resident
    elder = make_id("62060219500315122")
    roster(elder, "李秀英", medical_assistance=True)
    with time_machine.travel("2025-06-29 10:00 +08:00", tick=True):
        campaign = organizations.campaign_create(
            organization=organization, by=manager, kind=CampaignKind.NUANREN, name="帮扶村低收入人口",
            plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"), target_group="帮扶村低收入人口",
            target_count=10, budget=Decimal("690.00"), target_rule="hardship", hardship_statuses=["medical_assistance"])
        beneficiaries = lists.list_upload(resident=manager, organization=organization, campaign=campaign,
                                          plan=campaign.plan, filename="c.csv",
                                          data=f"姓名,身份证号,手机号\n李秀英,{elder},\n".encode())
        lists.list_validate(list_id=beneficiaries.pk)
        order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    pay(order, "B-3")
    title, rows, _ = epolicy.receipt_content(order)
    assert title.endswith("捐赠回执") and dict(rows)["捐赠方"] == organization.name
    text = text_of(epolicy.render_receipt(order))
    assert "捐赠回执" in text and "团体投保保费凭证" not in text and "帮扶村低收入人口" in text
    assert order.receipt_label == "捐赠回执" and group_order.receipt_label == "团体投保保费凭证"


def test_the_organization_page_links_the_receipt_by_its_kind(client, group_order):  # noqa: F811
    from django.urls import reverse

    from enrollment import services

    pay(group_order, "B-1")
    manager = group_order.resident
    manager.person = services.person_get_or_create(name="马经理", id_number=make_id("62060219700101123"))
    manager.save()
    login_as(client, manager.user)
    page = client.get(reverse("enrollment:org_detail", args=[group_order.organization.pk])).content.decode()
    assert "团体投保保费凭证" in page and "捐赠回执" not in page
    client.post(reverse("enrollment:org_payroll", args=[group_order.organization.pk]),
                {"year": str(date.today().year), "amount": "2000000.00"})
    page = client.get(reverse("enrollment:org_detail", args=[group_order.organization.pk])).content.decode()
    assert "200万元" in page
    # The tax helper starts from the declared payroll.
    assert 'value="2000000.00"' in page


def test_an_operator_cannot_declare_the_payroll(group_order):  # noqa: F811
    organization = group_order.organization
    operator = make_resident(phone="13900000002", name=None, id_number=None)
    invitation = organizations.member_invite(organization=organization, by=group_order.resident, phone=operator.phone,
                                             role="operator")
    organizations.invitation_answer(invitation_id=invitation.pk, resident=operator, accept=True)
    with pytest.raises(organizations.Refused):
        organizations.payroll_declare(organization=organization, by=operator, year=2025, amount=Decimal("1000.00"))
