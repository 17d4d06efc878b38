"""On a phone: the owner of an ID number a stranger bound first signs in with her own mobile, is
told the ID is bound elsewhere, proves it is hers with the carrier's three-factor check, and takes
it back; the stranger is unbound and told by SMS."""

import re

import pytest

from enrollment import identity
from enrollment.models import Resident
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import MOTHER_ID, SELF_ID, active_policy, carrier_line, make_resident, roster

pytestmark = pytest.mark.django_db(transaction=True)
OWNER_PHONE, STRANGER_PHONE = "13812345678", "13900000002"


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_owner_takes_her_id_back_on_a_phone(phone, products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    carrier_line(OWNER_PHONE, SELF_ID, "张桂兰")
    daughter = make_resident(phone="13700000007", name="李秀英", id_number=MOTHER_ID)
    policy = active_policy(daughter, ("张桂兰", SELF_ID, "parent"))
    squatter = make_resident(phone=STRANGER_PHONE, id_number=None)
    identity.resident_bind(resident=squatter, name="张桂兰", id_number=SELF_ID)

    phone.goto("/account/login/?next=/policies/")
    phone.get_by_label("手机号").fill(OWNER_PHONE)
    phone.get_by_role("button", name="获取验证码").click()
    phone.get_by_text("验证码已发送至 138****5678").wait_for()
    code = re.search(r"(\d{6})", SmsMessage.objects.to(OWNER_PHONE).get().body).group(1)
    phone.get_by_label("验证码").fill(code)
    phone.get_by_role("button", name="登录").click()

    phone.get_by_role("heading", name="实名认证").wait_for()
    phone.get_by_label("姓名").fill("张桂兰")
    phone.get_by_label("身份证号").fill(SELF_ID)
    phone.get_by_role("button", name="提交认证").click()
    phone.get_by_text(re.compile("该身份证号已绑定其他手机号账户")).wait_for()
    phone.get_by_text("138****5678").wait_for()
    assert fits(phone)
    phone.get_by_role("button", name="用本机号码验证并找回").click()

    phone.get_by_role("heading", name="我的保单").wait_for()
    phone.get_by_text(re.compile("原绑定该身份证号的账户已解除绑定")).wait_for()
    phone.get_by_text(policy.number, exact=False).wait_for()
    assert fits(phone)
    assert Resident.objects.by_phone(OWNER_PHONE).get().person.id_number == SELF_ID
    assert Resident.objects.by_phone(STRANGER_PHONE).get().person is None
    assert SmsMessage.objects.to(STRANGER_PHONE).filter(template_id=template_id("identity_released")).exists()
