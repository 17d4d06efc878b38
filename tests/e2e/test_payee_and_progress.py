"""On a phone (390 px): a resident whose claim is approved but waits for a payee opens 我的理赔, adds
her bank card (verified by the bank's four factors through the simulator), sees it masked, then
follows the claim's progress and uploads the documents a reviewer asked for."""

import re

import pytest

from claims import services
from claims.models import Claim, ClaimDocument, Payee
from portal.integrations.sms.simulator.models import SmsMessage
from tests.documents import PDF  # a real one: the page checks documents by content
from tests.factories import (
    SELF_ID,
    active_policy,
    bank_card,
    card_number,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
)

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "13800000001"


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_resident_adds_her_card_and_follows_her_claim_on_a_phone(phone, products, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    roster(SELF_ID, "张桂兰")
    card = card_number("621700001000")
    bank_card(card, SELF_ID, "张桂兰", PHONE)
    resident = make_resident(phone=PHONE)
    policy = active_policy(resident)
    source = settlement_source()
    services.settlement_receive(source=source, record=settlement_record("S-PAID"))
    services.settlement_receive(source=source, record=settlement_record(
        "S-HELD", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01", in_catalog_self_pay="60000.00"))
    services.policy_year_recompute(policy_id=policy.pk)
    held = Claim.objects.get(settlement__settlement_id="S-HELD")
    services.claim_documents_request(claim_id=held.pk, user=staff_user("reviewer", "理赔审核员"),
                                     reason="请补充出院小结")

    phone.goto("/account/login/?next=/claims/")
    phone.get_by_label("手机号").fill(PHONE)
    phone.get_by_role("button", name="获取验证码").click()
    phone.get_by_text("验证码已发送至 138****0001").wait_for()
    code = re.search(r"(\d{6})", SmsMessage.objects.to(PHONE).order_by("-pk").first().body).group(1)
    phone.get_by_label("验证码").fill(code)
    phone.get_by_role("button", name="登录").click()

    phone.get_by_role("heading", name="我的理赔").wait_for()
    phone.get_by_text(re.compile("等待登记收款账户后支付")).first.wait_for()
    assert fits(phone)
    phone.locator("#payee-needed").get_by_role("link", name="登记收款账户").click()

    phone.get_by_role("heading", name="收款账户", exact=True).wait_for()
    phone.get_by_label("卡号").fill(card)
    phone.get_by_label("银行预留手机号").fill("13800000009")  # not the one the bank holds
    phone.get_by_role("button", name="核验并登记").click()
    phone.get_by_text(re.compile("银行卡核验未通过")).wait_for()
    assert fits(phone)
    phone.get_by_label("卡号").fill(card)
    phone.get_by_label("银行预留手机号").fill(PHONE)
    phone.get_by_role("button", name="核验并登记").click()
    masked = f"{card[:4]} **** **** {card[-4:]}"
    phone.get_by_text(re.compile("已核验通过并登记")).wait_for()
    phone.locator(".card-number").get_by_text(masked).wait_for()
    assert card not in phone.content() and fits(phone)
    assert Payee.objects.get().card_number == card

    phone.goto("/claims/")
    assert phone.locator("#payee-needed").count() == 0
    phone.locator("#claim-S-HELD").get_by_role("link", name="上传材料").click()
    phone.get_by_role("heading", name="理赔进度").wait_for()
    timeline = phone.locator("ol.timeline").inner_text()
    assert "已接收结算信息" in timeline and "人工审核中" in timeline and "需补充材料" in timeline
    phone.set_input_files("input[type=file]", files=[{"name": "出院小结.pdf", "mimeType": "application/pdf",
                                                      "buffer": PDF}])
    phone.get_by_role("button", name="上传材料").click()
    phone.get_by_text("材料已上传，工作人员将尽快审核。").wait_for()
    assert "已补充材料" in phone.locator("ol.timeline").inner_text()
    assert fits(phone)
    assert ClaimDocument.objects.get().original_name == "出院小结.pdf"
