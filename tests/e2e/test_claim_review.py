"""A reviewer signs in to the admin, corrects a settlement's pre-existing flag with a reason and
sees the recomputation's adjustment line, the new payout and the audit trail."""

import pytest

from claims import services
from claims.models import Claim
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    pass_second_factor,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
    totp_device,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reviewer_corrects_a_pre_existing_flag_and_sees_the_adjustment(browser, live_server, products):
    roster(SELF_ID, "张桂兰")
    policy = active_policy(make_resident())
    services.settlement_receive(source=settlement_source(), record=settlement_record("WW-H620600001-2025-000123"))
    services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get()
    authenticator = totp_device(staff_user("reviewer", "理赔审核员"))

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "staff-pass-2025")
    page.click("input[type=submit]")
    pass_second_factor(page, authenticator)
    page.wait_for_url("**/admin/")
    page.goto("/admin/claims/claim/")
    page.fill("#searchbar", SELF_ID[:6] + "********" + SELF_ID[-4:])  # search by the masked ID
    page.keyboard.press("Enter")
    page.click("text=WW-H620600001-2025-000123")
    assert page.inner_text("#claim-payout") == "5400.00"
    assert SELF_ID not in page.content()

    page.check("#correct-form input[value='1']")
    page.fill("#correct-form input[name=reason]", "住院病历记载投保前已确诊")
    page.click("#correct-form button[type=submit]")

    page.wait_for_selector("text=新增1条调整明细")
    assert page.inner_text("#claim-payout") == "3600.00"
    adjustment = page.inner_text("#claim-lines tr.line-adjustment")
    assert "-1800.00" in adjustment and "住院病历记载投保前已确诊" in adjustment
    assert page.inner_text("#claim-state") == "待审核"  # a pre-existing claim goes to a reviewer
    trail = page.inner_text("#audit-trail")
    assert "reviewer" in trail and "既往症更正为：是" in trail
    assert Claim.objects.get(pk=claim.pk).payout == 3600
    context.close()
