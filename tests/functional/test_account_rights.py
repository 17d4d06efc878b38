"""我的账户: a resident sees and downloads everything held about him and the people he bought for,
changes his mobile (proven by a code to the new number), withdraws a consent after reading what it
changes, and closes his account (login data goes, records the law requires stay)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from enrollment import accounts, identity, organizations, services
from enrollment.models import Consent, FamilyMember, Policy, RenewalAuthorization, Resident, SmsCode
from portal.crypto import blind_index
from portal.integrations.payments.simulator import provider as payment_provider
from portal.integrations.payments.simulator.models import SimContract
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from supervision import services as supervision_services
from supervision.models import FollowUpVisit
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    WEIHAI_ID,
    WEIHAI_SPOUSE_ID,
    active_policy,
    login_as,
    make_resident,
    roster,
)

pytestmark = pytest.mark.django_db
PHONE, NEW_PHONE = "13800000001", "13900000003"


def next_code_allowed(phone: str) -> None:
    """The gateway's one-a-minute limit per number, as if a minute had passed."""
    from django.core.cache import cache

    cache.delete(f"sms:phone-minute:{blind_index(phone)}")


def code_for(phone: str) -> str:
    return re.search(r"验证码为(\d{6})", SmsMessage.objects.to(phone).latest("sent_at").body).group(1)


@pytest.fixture
def owner(products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    resident = make_resident(phone=PHONE)
    active_policy(resident, ("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent"))
    return resident


def signed_in(resident) -> Client:
    client = Client()
    login_as(client, resident.user)
    return client


def test_the_account_page_and_both_downloads_hold_everything_masked(owner):
    stranger = make_resident(phone="13700000007", name="王五", id_number=None)
    client = signed_in(owner)
    page = client.get(reverse("enrollment:account")).content.decode()
    assert "138****0001" in page and "张桂兰" in page and "个人信息处理授权" in page and PHONE not in page
    response = client.get(reverse("enrollment:account_data", args=["json"]))
    assert response["Content-Type"].startswith("application/json") and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["identity"]["name"] == "张桂兰" and data["account"]["phone"] == "138****0001"
    assert {p["insured"] for p in data["policies"]} == {"张桂兰", "李秀英"}
    assert [m["name"] for m in data["family"]] == ["李秀英"]
    assert data["orders"][0]["payments"][0]["status"] == "succeeded"
    assert any(c["text"].startswith("个人信息处理授权") for c in data["consents"])
    text = response.content.decode()
    assert SELF_ID not in text and MOTHER_ID not in text and PHONE not in text
    assert "王五" not in text and stranger.phone not in text  # nobody else's data
    pdf = client.get(reverse("enrollment:account_data", args=["pdf"]))
    assert pdf.content.startswith(b"%PDF") and pdf["Cache-Control"] == "no-store"
    assert client.get(reverse("enrollment:account_data", args=["xml"])).status_code == 404


def test_the_mobile_changes_only_with_a_code_sent_to_the_new_number(owner, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(reverse("enrollment:account_code"), {"to": "new", "phone": NEW_PHONE}, HTTP_HX_REQUEST="true")
    assert sent.status_code == 200 and "139****0003" in sent.content.decode()
    wrong = client.post(reverse("enrollment:phone_change"), {"phone": NEW_PHONE, "code": "000000"})
    assert wrong.status_code == 422
    owner.refresh_from_db()
    assert owner.phone == PHONE
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("enrollment:phone_change"), {"phone": NEW_PHONE, "code": code_for(NEW_PHONE)})
    assert done.status_code == 302
    owner.refresh_from_db()
    assert (owner.phone, owner.user.username) == (NEW_PHONE, f"p:{blind_index(NEW_PHONE)}")
    told = SmsMessage.objects.to(PHONE).get(template_id=template_id("phone_changed"))
    assert "139****0003" in told.body
    # The new number signs in to the same account; the old one would open a new, empty one.
    next_code_allowed(NEW_PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.code_send(phone=NEW_PHONE, ip="198.51.100.1")
    assert accounts.code_verify(phone=NEW_PHONE, code=code_for(NEW_PHONE)) == owner


def test_a_number_with_an_account_is_refused_after_its_code(owner, django_capture_on_commit_callbacks):
    make_resident(phone=NEW_PHONE, id_number=None)
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("enrollment:account_code"), {"to": "new", "phone": NEW_PHONE}, HTTP_HX_REQUEST="true")
    refused = client.post(reverse("enrollment:phone_change"), {"phone": NEW_PHONE, "code": code_for(NEW_PHONE)})
    assert refused.status_code == 422 and "该手机号已注册其他账户" in refused.content.decode()
    owner.refresh_from_db()
    assert owner.phone == PHONE


@pytest.fixture
def weihai(products):
    roster(WEIHAI_ID, "王建国", category="employee")
    roster(WEIHAI_SPOUSE_ID, "刘芳")
    resident = make_resident(phone="13900000009", name="王建国", id_number=WEIHAI_ID)
    policy = active_policy(resident, ("王建国", WEIHAI_ID, "self"), product="weihai-2025", plan="standard",
                           when="2024-10-15 10:00 +08:00")
    authorization, sign_url = services.renewal_authorize(resident=resident, policy=policy)
    payment_provider.contract_sign(contract_id=sign_url.rstrip("/").rsplit("/", 1)[-1])  # signed on WeChat Pay
    services.renewal_refresh(authorization=authorization)
    return resident, policy


def test_withdrawing_consent_explains_and_applies_its_consequences(weihai, django_capture_on_commit_callbacks):
    resident, policy = weihai
    client = signed_in(resident)
    url = reverse("enrollment:consent_withdraw", args=[resident.person_id, "privacy"])
    explained = client.get(url).content.decode()
    assert "自动续保停止" in explained and "个人信息保护法" in explained and "重新阅读并同意" in explained
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    assert not Consent.objects.filter(person=resident.person, text__kind="privacy", withdrawn_at__isnull=True).exists()
    assert RenewalAuthorization.objects.get(resident=resident).revoked_at is not None
    assert SimContract.objects.get().state == "TERMINATED"
    assert Policy.objects.get(pk=policy.pk).status == Policy.ACTIVE  # the contract goes on
    with time_machine.travel("2025-03-01 10:00 +08:00"):
        drawn = supervision_services.visits_draw(program=policy.version.program, purpose=FollowUpVisit.BUYER,
                                                 start=date(2024, 10, 1), end=date(2024, 12, 31), count=10)
    assert drawn == []  # not called for a follow-up visit
    # The terms are a contract, and nobody withdraws another adult's consent.
    assert client.get(reverse("enrollment:consent_withdraw", args=[resident.person_id, "terms"])).status_code == 404
    assert client.get(reverse("enrollment:consent_withdraw", args=[policy.person_id + 999, "privacy"])).status_code == 404


def test_closing_the_account_keeps_the_records_and_removes_the_login(owner, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    policies = set(Policy.objects.filter(order__resident=owner).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("enrollment:account_code"), {"to": "own"}, HTTP_HX_REQUEST="true")
    unconfirmed = client.post(reverse("enrollment:account_close"), {"code": code_for(PHONE)})
    assert unconfirmed.status_code == 422 and "请确认已了解注销的后果" in unconfirmed.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        closed = client.post(reverse("enrollment:account_close"), {"code": code_for(PHONE), "understood": "1"})
    assert closed.status_code == 302
    owner.refresh_from_db()
    assert (owner.phone, owner.person, owner.user.is_active) == (None, None, False) and owner.closed_at
    assert owner.user.username == f"closed:{owner.pk}" and not owner.user.has_usable_password()
    assert not FamilyMember.objects.filter(resident=owner).exists() and not SmsCode.objects.by_phone(PHONE).exists()
    assert set(Policy.objects.filter(order__resident=owner).values_list("pk", flat=True)) == policies
    assert SmsMessage.objects.to(PHONE).filter(template_id=template_id("account_closed")).exists()
    assert client.get(reverse("enrollment:account")).status_code == 302  # signed out

    # The same person signs up again with her number, binds again and reads her own policy.
    next_code_allowed(PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.code_send(phone=PHONE, ip="198.51.100.2")
    again = accounts.code_verify(phone=PHONE, code=code_for(PHONE))
    assert again.pk != owner.pk
    identity.resident_bind(resident=again, name="张桂兰", id_number=SELF_ID)
    mine = signed_in(Resident.objects.get(pk=again.pk)).get(reverse("enrollment:my_policies")).content.decode()
    assert "张桂兰（本人）" in mine and "李秀英" not in mine  # her mother's was bought by the closed account


def test_an_organizations_only_manager_cannot_close_the_account(owner, django_capture_on_commit_callbacks):
    from stdnum.cn import uscc

    organization = organizations.organization_register(
        resident=owner, name="凉州区总工会", credit_code="81620602MC1234567" + uscc.calc_check_digit("81620602MC1234567"),
        kind="trade_union", contact_name="王", contact_phone="0935-1")
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("enrollment:account_code"), {"to": "own"}, HTTP_HX_REQUEST="true")
    refused = client.post(reverse("enrollment:account_close"), {"code": code_for(PHONE), "understood": "1"})
    assert refused.status_code == 422 and f"您是“{organization.name}”唯一的管理员" in refused.content.decode()
    owner.refresh_from_db()
    assert owner.phone == PHONE and owner.closed_at is None
