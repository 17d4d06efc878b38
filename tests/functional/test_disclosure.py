"""Least disclosure: what a buyer or an organization learns about other people is "可以投保" or one
category; checks of other people are counted against daily caps; the purchase form never shows the
resident's own full ID; the dashboard screen suppresses small cells; inviting a member answers the
same whether or not the number has an account."""

from __future__ import annotations

import io
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from enrollment import lists, organizations
from enrollment.models import (
    BeneficiaryList,
    OrganizationInvitation,
    OrganizationMember,
    Plan,
    ProductVersion,
)
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from supervision.models import DistrictPopulation
from tests.factories import (
    CHILD_ID,
    LANZHOU_ID,
    MOTHER_ID,
    SELF_ID,
    UNINSURED_ID,
    active_policy,
    login_as,
    make_id,
    make_resident,
    roster,
    sold_policy,
    staff_user,
)

pytestmark = pytest.mark.django_db
IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"
BUY_URL = "/buy/wuwei-2025/basic/"
ASSISTED_ID = make_id("62060219600101123")  # 医疗救助对象
SUSPENDED_ID = make_id("62060219610101124")
COVERED_ID = make_id("62060219620101125")  # covered this year by her employer
DETAIL_WORDS = ("医疗救助", "620105", "兰州", "暂停", "未查询到", "单位团体", "个人自购", "家庭代购", "参保地", "参保缴费正常")
CATEGORIES = {"姓名与身份证号不符", "不符合投保条件", "本年度已参保", "可以投保"}


@pytest.fixture(autouse=True)
def _window(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        yield


@pytest.fixture
def people(products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    roster(CHILD_ID, "张小宝")
    roster(LANZHOU_ID, "赵六", region="620105")
    roster(UNINSURED_ID, "钱七", status="not_insured")
    roster(ASSISTED_ID, "孙救助", medical_assistance=True)
    roster(SUSPENDED_ID, "周某", status="suspended")
    roster(COVERED_ID, "吴已保")
    active_policy(make_resident("13700000009", "吴已保", COVERED_ID))


@pytest.fixture
def buyer(people):
    resident = make_resident()
    client = Client()
    login_as(client, resident.user)
    return client, resident


def check(client, name, id_number, relation="other", index=1):
    response = client.post(reverse("enrollment:check_person", args=["wuwei-2025", "basic", index]), {
        f"people-{index}-name": name, f"people-{index}-id_number": id_number, f"people-{index}-relation": relation,
        f"people-{index}-guardian": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("name", "id_number", "category"), [
    ("李秀英", MOTHER_ID, "可以投保"),
    ("孙救助", ASSISTED_ID, "可以投保"),
    ("李秀花", MOTHER_ID, "姓名与身份证号不符"),
    ("赵六", LANZHOU_ID, "不符合投保条件"),
    ("钱七", UNINSURED_ID, "不符合投保条件"),
    ("周某", SUSPENDED_ID, "不符合投保条件"),
    ("吴已保", COVERED_ID, "本年度已参保"),
])
def test_the_live_check_tells_another_person_only_a_category(buyer, name, id_number, category):
    client, _ = buyer
    page = check(client, name, id_number)
    assert category in page
    assert not [word for word in DETAIL_WORDS if word in page], page
    assert set(re.findall(r'data-code="([a-z_]+)"', page)) <= {"name_mismatch", "not_eligible", "already_covered"}


def test_the_person_himself_is_told_why(people):
    himself = make_resident(phone="13600000001", name="赵六", id_number=LANZHOU_ID)
    client = Client()
    login_as(client, himself.user)
    page = check(client, "赵六", LANZHOU_ID, relation="self", index=0)
    assert "620105" in page and "不在范围内" in page


def test_the_purchase_form_never_shows_the_residents_full_id(buyer):
    client, resident = buyer
    page = client.get(BUY_URL).content.decode()
    assert SELF_ID not in page and resident.person.id_masked in page and 'name="people-0-own"' in page
    own = client.post(reverse("enrollment:check_person", args=["wuwei-2025", "basic", 0]), {"people-0-own": "1"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "✓" in own and "基本医保参保正常" in own and SELF_ID not in own
    bought = client.post(BUY_URL, {"people-0-own": "1", "people-1-name": "李秀英", "people-1-id_number": MOTHER_ID,
                                   "people-1-relation": "parent", "consent": ["terms", "privacy"]})
    assert bought.status_code == 302
    assert sorted(p.person.id_number for p in resident.orders.get().policies.all()) == sorted([SELF_ID, MOTHER_ID])


def test_live_checks_of_other_people_are_capped_a_day(buyer, settings):
    settings.PERSON_CHECKS_PER_ACCOUNT_DAY = 2
    client, _ = buyer
    assert "可以投保" in check(client, "李秀英", MOTHER_ID)
    assert "可以投保" in check(client, "李秀英", MOTHER_ID)  # the same question again costs nothing
    assert "不符合投保条件" in check(client, "钱七", UNINSURED_ID)
    capped = check(client, "孙救助", ASSISTED_ID)
    assert "今日为他人查询投保资格已达2人次上限" in capped and "可以投保" not in capped
    own = client.post(reverse("enrollment:check_person", args=["wuwei-2025", "basic", 0]), {"people-0-own": "1"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "✓" in own  # one's own check is never capped


def test_a_burst_of_checks_is_stopped_within_the_minute(buyer, settings):
    settings.PERSON_CHECKS_PER_ACCOUNT_MINUTE = 3
    client, _ = buyer
    answers = [check(client, f"某{'甲乙丙丁戊'[n]}", make_id(f"62060219800101{n:02d}2")) for n in range(5)]
    assert sum("查询过于频繁" in page for page in answers) == 2


@pytest.fixture
def employer(people):
    manager = make_resident(phone="13500000001", name="李秀英", id_number=MOTHER_ID)
    from stdnum.cn import uscc

    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code="91620600MA71X0AB3" + uscc.calc_check_digit(
            "91620600MA71X0AB3"), kind="employer", contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    return organization, manager


def upload(resident, rows, organization=None, campaign=None):
    text = "姓名,身份证号,手机号\n" + "".join(f"{name},{number},\n" for name, number in rows)
    return lists.list_upload(resident=resident, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                             filename="名单.csv", data=text.encode(), organization=organization, campaign=campaign)


def test_the_list_report_and_its_xlsx_reveal_only_the_categories(employer):
    organization, manager = employer
    beneficiaries = upload(manager, [("孙救助", ASSISTED_ID), ("赵六", LANZHOU_ID), ("钱七", UNINSURED_ID),
                                     ("周某", SUSPENDED_ID), ("吴已保", COVERED_ID), ("张桂花", SELF_ID)],
                           organization=organization)
    lists.list_validate(list_id=beneficiaries.pk)
    client = Client()
    login_as(client, manager.user)
    page = client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).content.decode()
    assert not [word for word in DETAIL_WORDS if word in page]
    report = client.get(reverse("enrollment:list_report", args=[beneficiaries.number]))
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(min_row=2, values_only=True))
    assert [(row[5], row[6]) for row in rows] == [
        (None, "可以投保"), ("not_eligible", "不符合投保条件"), ("not_eligible", "不符合投保条件"),
        ("not_eligible", "不符合投保条件"), ("already_covered", "本年度已参保"), ("name_mismatch", "姓名与身份证号不符")]
    cells = " ".join(str(cell) for row in rows for cell in row)
    assert not [word for word in DETAIL_WORDS if word in cells]
    # The policy keeps what the Weihai tilt needs; the organization never reads it.
    assert beneficiaries.rows.get(row_number=2).medical_assistance is True


def xianai(plan):
    return organizations.campaign_create(organization=None, by=None, kind="xianai", name="为困难群众送保障", plan=plan,
                                         target_group="低保对象", target_count=100, budget=0, target_rule="hardship",
                                         hardship_statuses=["dibao", "medical_assistance"])


def test_an_individual_donor_is_capped_and_an_organization_is_not(employer, settings):
    settings.LIST_ROWS_PER_DONOR_DAY = 3
    settings.LIST_ROWS_PER_ORGANIZATION_DAY = 5
    organization, manager = employer
    campaign = xianai(Plan.objects.get(version__slug="wuwei-2025", code="basic"))
    donor = make_resident(phone="13600000002", name="张桂兰", id_number=SELF_ID)
    four = [("某" + "甲乙丙丁"[n], make_id(f"62060219800201{n:02d}2")) for n in range(4)]
    with pytest.raises(organizations.Refused) as refused:
        upload(donor, four, campaign=campaign)
    assert refused.value.code == "daily_cap" and "个人爱心人士每日最多校验3人" in refused.value.message
    assert not BeneficiaryList.objects.exists()
    upload(donor, four[:2], campaign=campaign)
    with pytest.raises(organizations.Refused) as again:
        upload(donor, four[2:], campaign=campaign)
    assert "今日还可校验1人" in again.value.message
    upload(manager, four, organization=organization)
    with pytest.raises(organizations.Refused) as org_capped:
        upload(manager, four, organization=organization)
    assert "本单位今日名单校验人数已达上限" in org_capped.value.message


def test_the_dashboard_screen_suppresses_cells_of_one_to_four(products):
    version = ProductVersion.objects.get(slug="wuwei-2025")
    for n in range(6):
        sold_policy("wuwei-2025", f"参保人{n}", make_id(f"62060219800101{n:02d}1"), number=f"A{n}")
    for n in range(2):
        sold_policy("wuwei-2025", f"民勤{n}", make_id(f"62062119800101{n:02d}1"), number=f"B{n}")
    DistrictPopulation.objects.create(program=version.program, year=2025, region_code="620602", name="凉州区", eligible=60)
    DistrictPopulation.objects.create(program=version.program, year=2025, region_code="620621", name="民勤县", eligible=20)
    client = Client()
    login_as(client, staff_user("bureau", "医保局监管"))
    page = client.get(reverse("supervision:dashboard"), {"version": version.pk}).content.decode()
    assert 'data-figure="凉州区">6<' in page and "10.00%" in page
    assert 'data-figure="民勤县">&lt;5<' in page and 'aria-label="民勤县 &lt;5人"' in page
    assert 'data-figure="total">8<' in page


def test_inviting_a_member_answers_the_same_whether_or_not_the_number_has_an_account(employer,
                                                                                      django_capture_on_commit_callbacks):
    organization, manager = employer
    make_resident(phone="13600000003", name="张桂兰", id_number=SELF_ID)
    client = Client()
    login_as(client, manager.user)
    answers = []
    for phone in ("13600000003", "13600000004"):  # an account, and a number never seen
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("enrollment:org_detail", args=[organization.pk]),
                                   {"phone": phone, "role": "operator"}, follow=True)
        said = re.search(r'<ul class="messages">(.*?)</ul>', response.content.decode(), re.S).group(1)
        answers.append((response.status_code, said.replace(phone[-4:], "####")))
        assert SmsMessage.objects.to(phone).filter(template_id=template_id("org_invitation")).exists()
    assert answers[0] == answers[1] and "发送邀请短信" in answers[0][1]
    assert not OrganizationMember.objects.filter(organization=organization, role="operator").exists()
    assert OrganizationInvitation.objects.filter(phone_hash__isnull=False).count() == 2
    assert "13600000004" not in str(list(OrganizationInvitation.objects.values()))

    # The number that had no account signs up later and finds the invitation waiting.
    newcomer = make_resident(phone="13600000004", name="郑新人", id_number=make_id("62060219850505123"))
    invited = Client()
    login_as(invited, newcomer.user)
    home = invited.get(reverse("enrollment:org_home")).content.decode()
    assert "武威市示例建材有限公司邀请您成为经办人" in home
    invitation = organizations.invitations_for(newcomer).get()
    accepted = invited.post(reverse("enrollment:invitation_answer", args=[invitation.pk]), {"answer": "accept"})
    assert accepted.status_code == 302
    assert OrganizationMember.objects.filter(organization=organization, resident=newcomer, role="operator").exists()
    # Someone else cannot answer it.
    stranger = Client()
    login_as(stranger, make_resident(phone="13600000005", name="赵六", id_number=LANZHOU_ID).user)
    assert stranger.post(reverse("enrollment:invitation_answer", args=[invitation.pk]),
                         {"answer": "accept"}).status_code == 404
