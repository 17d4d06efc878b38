"""``make run`` loads the demo with ``manage.py load_demo``: it must work, and again on a second run."""

import io
import re
from base64 import b32decode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from supervision.models import DistrictPopulation
from tests.factories import login_as, totp_code

pytestmark = pytest.mark.django_db


def test_the_demo_loads_twice_and_each_supervision_account_reaches_its_page(products):
    call_command("load_demo", stdout=io.StringIO())
    populations = DistrictPopulation.objects.count()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    secret = re.search(r"TOTP secret ([A-Z2-7=]+)", out.getvalue()).group(1)
    authenticator = TOTPDevice(key=b32decode(secret).hex())
    assert populations == DistrictPopulation.objects.count() == 8
    client = Client()
    for username, page in (("bureau", "/supervision/"), ("insurer", "/supervision/"),
                           ("service", "/admin/supervision/ticket/")):
        signed_in = client.post("/admin/login/", {"username": username, "password": "admin-demo-2025", "next": page})
        assert signed_in.status_code == 302, username
        assert client.get(page)["Location"].startswith("/staff/second-factor/"), username  # the second step
        verified = client.post("/staff/second-factor/", {"token": totp_code(authenticator), "next": page})
        assert verified.status_code == 302 and verified["Location"] == page, username
        assert client.get(page).status_code == 200, username
        assert ('href="/supervision/"' in client.get("/").content.decode()) == (username != "service")
    login_as(client, get_user_model().objects.get(username="insurer"))
    assert "威海" not in client.get("/supervision/").content.decode()
