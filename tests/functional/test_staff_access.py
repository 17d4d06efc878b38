"""Staff access (issue 13): a second factor for every staff account, session limits, the lock-out by
address across usernames."""

from __future__ import annotations

import io
import re
from base64 import b32decode
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import login_as, make_resident, staff_user, totp_code, totp_device

pytestmark = pytest.mark.django_db
STAFF_PAGES = ["/admin/", "/admin/claims/claim/", "/counter/", "/supervision/"]


def _password_only(user) -> Client:
    client = Client()
    client.force_login(user)  # the password step alone
    return client


def test_a_password_alone_opens_no_staff_page():
    user = staff_user("root", superuser=True)
    totp_device(user)
    client = _password_only(user)
    for url in STAFF_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("staff_otp:verify")), url
    request = RequestFactory().get("/admin/")
    request.user = user
    request.user.is_verified = lambda: False
    assert not admin.site.has_permission(request)  # the admin site refuses it on its own too


def test_first_sign_in_enrols_an_authenticator_and_shows_recovery_codes():
    user = staff_user("reviewer", "理赔审核员")
    client = _password_only(user)
    response = client.get("/admin/claims/claim/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("staff_otp:setup"))
    page = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post(reverse("staff_otp:setup"), {"token": "000000", "next": "/admin/claims/claim/"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # a wrong code holds the next for a second
        code = totp_code(TOTPDevice(key=b32decode(secret).hex()))
        done = client.post(reverse("staff_otp:setup"), {"token": code, "next": "/admin/claims/claim/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=user).count() == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/claims/claim/").status_code == 200


def test_the_second_step_takes_a_code_or_a_recovery_code_once():
    user = staff_user("reviewer", "理赔审核员")
    device = totp_device(user)
    from portal.staff.otp import recovery_codes_issue

    recovery = recovery_codes_issue(user=user)[0]
    client = _password_only(user)
    verify = reverse("staff_otp:verify")
    assert client.post(verify, {"token": "123456"}).status_code == 422
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # a wrong code holds the next for a second
        response = client.post(verify, {"token": totp_code(device), "next": "/admin/claims/claim/"})
    assert response.status_code == 302 and response["Location"] == "/admin/claims/claim/"
    assert client.get("/admin/claims/claim/").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        other = _password_only(user)
        assert other.post(verify, {"token": recovery}).status_code == 302
        assert other.get("/admin/").status_code == 200
        third = _password_only(user)
        assert third.post(verify, {"token": recovery}).status_code == 422  # used up


def test_an_offsite_next_is_ignored():
    user = staff_user("reviewer", "理赔审核员")
    client = _password_only(user)
    response = client.post(reverse("staff_otp:verify"), {"token": totp_code(totp_device(user)),
                                                         "next": "https://evil.example/"})
    assert response["Location"] == reverse("admin:index")


def test_resetting_a_members_devices_ends_their_verified_sessions():
    user = staff_user("reviewer", "理赔审核员")
    client = Client()
    login_as(client, user)
    assert client.get("/admin/claims/claim/").status_code == 200
    call_command("staff_devices_reset", "reviewer", stdout=io.StringIO())
    assert not TOTPDevice.objects.filter(user=user).exists()
    response = client.get("/admin/claims/claim/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("staff_otp:setup"))


def test_the_devices_page_issues_new_recovery_codes_and_offers_a_passkey():
    user = staff_user("reviewer", "理赔审核员")
    client = Client()
    login_as(client, user)
    page = client.get(reverse("staff_otp:devices")).content.decode()
    assert "passkey-register-button" in page and "otp_webauthn_register.js" in page
    first = client.post(reverse("staff_otp:devices"), {"action": "recovery"}).content.decode()
    assert len(re.findall(r"<li><code>(\w+)</code></li>", first)) == 10
    assert _password_only(user).get(reverse("staff_otp:devices")).status_code == 302  # needs the 2nd factor


# --- Sessions -------------------------------------------------------------------------------------


def _signed_in_at(user, moment) -> Client:
    client = Client()
    with time_machine.travel(moment, tick=False):
        login_as(client, user)
    return client


def test_a_staff_session_ends_after_15_quiet_minutes():
    start = timezone.now()
    client = _signed_in_at(staff_user("reviewer", "理赔审核员"), start)
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert client.get("/admin/claims/claim/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=14 + 16), tick=False):
        response = client.get("/admin/claims/claim/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_resident_session_ends_after_30_quiet_minutes_not_15():
    resident = make_resident()
    start = timezone.now()
    client = _signed_in_at(resident.user, start)
    policies = reverse("enrollment:my_policies")
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        assert client.get(policies).status_code == 200
    with time_machine.travel(start + timedelta(minutes=25 + 29), tick=False):
        assert client.get(policies).status_code == 200
    with time_machine.travel(start + timedelta(minutes=25 + 29 + 31), tick=False):
        response = client.get(policies)
    assert response.status_code == 302 and reverse("enrollment:login") in response["Location"]


@pytest.mark.parametrize("who", ["staff", "resident"])
def test_every_session_ends_12_hours_after_sign_in_however_busy(who):
    user = staff_user("reviewer", "理赔审核员") if who == "staff" else make_resident().user
    url = "/admin/claims/claim/" if who == "staff" else reverse("enrollment:my_policies")
    start = timezone.now()
    client = _signed_in_at(user, start)
    for minutes in range(10, 12 * 60, 10):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get(url).status_code == 200, minutes
    with time_machine.travel(start + timedelta(hours=12, minutes=5), tick=False):
        assert client.get(url).status_code == 302


# --- Lock-out --------------------------------------------------------------------------------------


def test_forty_usernames_from_one_address_are_throttled():
    """Password spraying: one wrong password for each of 40 usernames from one address. The address is
    locked before the 40th, and then even a right password from it is refused; another address is not."""
    staff_user("reviewer", "理赔审核员")
    login = reverse("admin:login")
    answers = []
    for n in range(40):
        client = Client(REMOTE_ADDR="203.0.113.7")
        answers.append(client.post(login, {"username": f"user{n}", "password": "Winter2025!"}).status_code)
    assert answers[0] == 200 and 429 in answers
    assert answers.index(429) <= 20
    right = Client(REMOTE_ADDR="203.0.113.7").post(login, {"username": "reviewer", "password": "staff-pass-2025"})
    assert right.status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.9").post(login, {"username": "reviewer", "password": "staff-pass-2025"})
    assert elsewhere.status_code == 302
