"""四心 targeting: each campaign kind has its organizers and its target rule, checked when the
campaign is made and applied to every list row with a reason that names no status."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
import time_machine
from stdnum.cn import uscc

from enrollment import lists, organizations
from enrollment.models import BeneficiaryList, CampaignKind, Plan
from tests.factories import MOTHER_ID, login_as, make_id, make_resident, roster

pytestmark = pytest.mark.django_db
YOUNG = make_id("62060220000101011")  # 25 on 1 July 2025
ELDER = MOTHER_ID  # born 1950
POOR = make_id("62060219800202022")  # medical-assistance recipient
SERIAL = itertools.count(100)


@pytest.fixture(autouse=True)
def _window(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        yield


def organization(kind: str):
    manager = make_resident(phone=f"139000000{len(kind):02d}", name=None, id_number=None)
    first17 = f"91620600MA71X0{next(SERIAL):03d}"
    org = organizations.organization_register(
        resident=manager, name=f"示例单位{kind}", credit_code=first17 + uscc.calc_check_digit(first17), kind=kind,
        contact_name="马", contact_phone="0935-1234567")
    org.approve()
    org.save()
    return org, manager


def plan():
    return Plan.objects.get(version__slug="wuwei-2025", code="basic")


def campaign(org, manager, kind, **rule):
    return organizations.campaign_create(organization=org, by=manager, kind=kind, name="活动", plan=plan(),
                                         target_group="对象", target_count=10, budget=Decimal("690.00"), **rule)


def rows_of(org, manager, the_campaign, people, **kwargs) -> dict[str, tuple[str, str]]:
    data = ("姓名,身份证号,手机号\n" + "".join(f"{name},{number},\n" for name, number in people)).encode()
    beneficiaries = lists.list_upload(resident=manager, organization=org, campaign=the_campaign, plan=plan(),
                                      filename="a.csv", data=data, **kwargs)
    assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.VALIDATED
    return {r.name: (r.status, r.message) for r in beneficiaries.rows.all()}


def test_an_employer_cannot_run_a_jingxiao_campaign(products):
    """The probe: an employer-run 敬孝心 accepted a 25-year-old."""
    employer, manager = organization("employer")
    with pytest.raises(organizations.Refused) as refused:
        campaign(employer, manager, CampaignKind.JINGXIAO, target_rule="elderly", min_age=60)
    assert refused.value.code == "organizer_not_allowed" and "民政部门" in refused.value.message


@pytest.mark.parametrize(("kind", "organizer", "allowed"), [
    (CampaignKind.JINGXIAO, "civil_affairs", True), (CampaignKind.JINGXIAO, "charity", False),
    (CampaignKind.XIANAI, "charity", True), (CampaignKind.XIANAI, "trade_union", False),
    (CampaignKind.TONGXIN, "women_federation", True), (CampaignKind.TONGXIN, "employer", False),
    (CampaignKind.NUANREN, "collective", True), (CampaignKind.NUANREN, "civil_affairs", False),
])
def test_each_kind_has_its_organizers(products, kind, organizer, allowed):
    org, manager = organization(organizer)
    rule = {CampaignKind.JINGXIAO: {"target_rule": "elderly", "min_age": 60},
            CampaignKind.XIANAI: {"target_rule": "hardship", "hardship_statuses": ["dibao"]}}.get(
        kind, {"target_rule": "members"})
    if allowed:
        assert campaign(org, manager, kind, **rule).organizer == org
    else:
        with pytest.raises(organizations.Refused):
            campaign(org, manager, kind, **rule)


@pytest.mark.parametrize(("kind", "rule", "code"), [
    (CampaignKind.JINGXIAO, {"target_rule": "members"}, "target_rule_not_allowed"),
    (CampaignKind.JINGXIAO, {"target_rule": "elderly", "min_age": 30}, "min_age_invalid"),
    (CampaignKind.JINGXIAO, {"target_rule": "elderly"}, "min_age_invalid"),
])
def test_the_target_rule_is_checked_when_the_campaign_is_made(products, kind, rule, code):
    civil, manager = organization("civil_affairs")
    with pytest.raises(organizations.Refused) as refused:
        campaign(civil, manager, kind, **rule)
    assert refused.value.code == code


def test_a_jingxiao_list_takes_the_elderly_only(products):
    civil, manager = organization("civil_affairs")
    roster(YOUNG, "青年")
    roster(ELDER, "李秀英")
    elders = campaign(civil, manager, CampaignKind.JINGXIAO, target_rule="elderly", min_age=70)
    outcome = rows_of(civil, manager, elders, [("青年", YOUNG), ("李秀英", ELDER)])
    assert outcome == {"青年": ("invalid", "不属于本活动资助对象"), "李秀英": ("valid", "可以投保")}


def test_a_hardship_list_takes_people_the_registry_names_and_says_nothing_about_the_others(products):
    charity, manager = organization("charity")
    roster(POOR, "困难户", medical_assistance=True)
    roster(YOUNG, "青年")
    givers = campaign(charity, manager, CampaignKind.XIANAI, target_rule="hardship",
                      hardship_statuses=["medical_assistance", "dibao"])
    outcome = rows_of(charity, manager, givers, [("困难户", POOR), ("青年", YOUNG)])
    assert outcome == {"困难户": ("valid", "可以投保"), "青年": ("invalid", "不属于本活动资助对象")}
    assert not [m for _, m in outcome.values() if "救助" in m or "低保" in m]


def test_a_members_campaign_needs_the_organizers_declaration(products):
    union, manager = organization("trade_union")
    roster(YOUNG, "青年")
    members = campaign(union, manager, CampaignKind.TONGXIN, target_rule="members")
    with pytest.raises(organizations.Refused) as refused:
        rows_of(union, manager, members, [("青年", YOUNG)])
    assert refused.value.code == "declaration_required" and not BeneficiaryList.objects.exists()
    assert rows_of(union, manager, members, [("青年", YOUNG)], members_declared=True) == {"青年": ("valid", "可以投保")}
    assert BeneficiaryList.objects.get().members_declared


def test_a_fixed_row_is_held_to_the_rule_too(products):
    civil, manager = organization("civil_affairs")
    roster(YOUNG, "青年")
    roster(ELDER, "李秀英")
    elders = campaign(civil, manager, CampaignKind.JINGXIAO, target_rule="elderly", min_age=60)
    data = f"姓名,身份证号,手机号\n李秀英,{ELDER},\n".encode()
    beneficiaries = lists.list_upload(resident=manager, organization=civil, campaign=elders, plan=plan(),
                                      filename="a.csv", data=data)
    lists.list_validate(list_id=beneficiaries.pk)
    row = beneficiaries.rows.get()
    fixed = lists.row_fix(beneficiaries=beneficiaries, row_id=row.pk, by=manager, name="青年", id_number=YOUNG)
    assert (fixed.status, fixed.code) == ("invalid", "not_target_group")


def test_only_employers_and_collectives_buy_without_a_campaign(products):
    charity, manager = organization("charity")
    roster(YOUNG, "青年")
    with pytest.raises(organizations.Refused) as refused:
        lists.list_upload(resident=manager, organization=charity, plan=plan(), filename="a.csv",
                          data=f"姓名,身份证号,手机号\n青年,{YOUNG},\n".encode())
    assert refused.value.code == "campaign_required"


def test_staff_making_a_campaign_in_the_admin_are_held_to_the_same_rules(client, products):
    from django.urls import reverse

    from tests.factories import staff_user

    employer, _ = organization("employer")
    login_as(client, staff_user("admin", superuser=True))
    response = client.post(reverse("admin:enrollment_campaign_add"), {
        "kind": "jingxiao", "name": "敬老", "slug": "jinglao", "organizer": employer.pk, "plan": plan().pk,
        "target_group": "老人", "target_rule": "elderly", "min_age": "60", "target_count": "10", "budget": "0",
        "description": "", "public": "on"})
    assert response.status_code == 200 and "民政部门" in response.content.decode()
