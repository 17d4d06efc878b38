"""A staff member adds a passkey (Chromium's virtual authenticator stands in for a phone or security
key) and passes the second step with it at the next sign-in."""

import time

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from tests.factories import pass_second_factor, staff_user, totp_device

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, user_device=None):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "staff-pass-2025")
    page.click("input[type=submit]")
    if user_device is not None:
        pass_second_factor(page, user_device)
    return page


def test_a_staff_member_adds_a_passkey_and_signs_in_with_it(browser, live_server):
    user = staff_user("reviewer", "理赔审核员")
    authenticator = totp_device(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  base_url=live_server.url.replace("127.0.0.1", "localhost"))
    first = _sign_in(context.new_page(), authenticator)
    first.wait_for_url("**/admin/")
    cdp = context.new_cdp_session(first)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    first.goto("/staff/second-factor/devices/")
    first.click("#passkey-register-button")
    deadline = time.monotonic() + 20
    while not WebAuthnCredential.objects.filter(user=user, confirmed=True).exists():
        assert time.monotonic() < deadline, first.inner_text("#passkey")
        time.sleep(0.2)
    first.reload()
    assert "通行密钥：" in first.content()

    # Sign out and in again on the same page (the virtual authenticator belongs to it): the passkey passes.
    context.clear_cookies()
    second = _sign_in(first)
    second.wait_for_selector("#passkey-verification-button")
    second.click("#passkey-verification-button")
    second.wait_for_url("**/admin/")
    assert second.get_by_text("理赔").first.is_visible()
    context.close()
