"""``make run`` loads the demo with ``manage.py load_demo``: it must work, and again on a second run."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from supervision.models import DistrictPopulation

pytestmark = pytest.mark.django_db


def test_the_demo_loads_twice_and_each_supervision_account_reaches_its_page(products):
    call_command("load_demo", stdout=io.StringIO())
    populations = DistrictPopulation.objects.count()
    call_command("load_demo", stdout=io.StringIO())
    assert populations == DistrictPopulation.objects.count() == 8
    client = Client()
    for username, page in (("bureau", "/supervision/"), ("insurer", "/supervision/"),
                           ("service", "/admin/supervision/ticket/")):
        signed_in = client.post("/admin/login/", {"username": username, "password": "admin-demo-2025", "next": page})
        assert signed_in.status_code == 302, username
        assert client.get(page).status_code == 200, username
        assert ('href="/supervision/"' in client.get("/").content.decode()) == (username != "service")
    client.force_login(get_user_model().objects.get(username="insurer"))
    assert "威海" not in client.get("/supervision/").content.decode()
