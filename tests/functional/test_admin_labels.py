"""The admin speaks Chinese to staff, masks residents' mobiles and shows Beijing time.

Walks the admin index, every app's index and every registered model's changelist, add form and
change form (on the permission matrix's world: one of everything) as a superuser, and reads the
labels a person sees — app and model names, column headers, filter titles, form labels, fieldset
and inline titles. A label with no Chinese character fails, unless it is a code staff know by its
letters (ID, IP…). No page shows a full 11-digit mobile number of the world's residents, and no time
is shown in UTC."""

from __future__ import annotations

import re
from datetime import UTC
from html import unescape

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests import routes
from tests.factories import login_as
from tests.functional.test_permission_matrix import world  # noqa: F401 - the module's fixture

pytestmark = pytest.mark.django_db

CODES = {"ID", "IP", "URL", "JSON", "PDF", "SMS", "API", "HMAC", "CSV", "POS", "Excel"}
PHONES = ("13800000001", "13800000002", "13800000003", "13800000004", "13800000005", "13800000006")
LABELS = [
    re.compile(r'<div class="text">\s*(?:<a [^>]*>|<span>)(.*?)(?:</a>|</span>)', re.S),  # column headers
    re.compile(r'data-filter-title="([^"]*)"'),  # filters
    re.compile(r"<label[^>]*>(.*?)</label>", re.S),  # form labels
    re.compile(r'<h2[^>]*class="[^"]*heading[^"]*"[^>]*>(.*?)</h2>', re.S),  # fieldsets, inlines
    re.compile(r'<th class="column-[^"]*[^>]*>(.*?)</th>', re.S),  # tabular inline headers
    re.compile(r"<caption>\s*<a [^>]*>(.*?)</a>", re.S),  # app names on the index
    re.compile(r'<th scope="row"[^>]*>\s*<a [^>]*>(.*?)</a>', re.S),  # model names on the index
]


def labels(html: str) -> set[str]:
    found = set()
    for pattern in LABELS:
        for raw in pattern.findall(html):
            text = unescape(re.sub(r"<[^>]+>", "", raw)).strip().rstrip(":：").strip()
            if text:
                found.add(text)
    return found


def english(label: str) -> bool:
    return label.isascii() and label not in CODES and not label.replace(".", "").isdigit()


def pages(world):  # noqa: F811
    yield reverse("admin:index")
    for app in {m._meta.app_label for m in admin.site._registry}:
        yield reverse("admin:app_list", args=[app])
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        try:
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
        except NoReverseMatch:
            pass
        first = model_admin.get_queryset(_request(world)).order_by("pk").first()
        if first is not None:
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])


def _request(world):  # noqa: F811
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = world.users[routes.SUPERUSER]
    return request


def walk(world):  # noqa: F811
    client = Client()
    login_as(client, world.users[routes.SUPERUSER])
    for url in pages(world):
        response = client.get(url)
        if response.status_code == 200:
            yield url, response.content.decode()
        else:
            assert response.status_code in (302, 403), (url, response.status_code)


def test_every_admin_label_is_chinese(world):  # noqa: F811
    wrong = {}
    for url, html in walk(world):
        bad = sorted(label for label in labels(html) if english(label))
        if bad:
            wrong[url] = bad
    assert not wrong, "\n".join(f"{url}: {bad}" for url, bad in wrong.items())


def test_the_admin_never_shows_a_residents_full_mobile_or_a_utc_time(world):  # noqa: F811
    wrong = {}
    for url, html in walk(world):
        shown = [phone for phone in PHONES if phone in html]
        utc = re.findall(r"\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:\+00:00|Z\b| UTC)", html)
        if shown or utc:
            wrong[url] = shown + utc
    assert not wrong, wrong


def test_a_time_in_an_objects_name_is_beijing_time(world):  # noqa: F811
    from django.utils import timezone

    from enrollment.models import CashierShift

    shift = CashierShift.objects.get()
    client = Client()
    login_as(client, world.users[routes.SUPERUSER])
    page = client.get(reverse("admin:enrollment_cashiershift_change", args=[shift.pk])).content.decode()
    assert f"{timezone.localtime(shift.opened_at):%Y-%m-%d %H:%M}" in page
    assert f"{shift.opened_at.astimezone(UTC):%Y-%m-%d %H:%M}" not in page


def test_the_label_reader_sees_an_english_label():
    html = '<label for="id_in_catalog">in_catalog:</label><div class="text"><a href="?o=1">保单号</a></div>'
    assert labels(html) == {"in_catalog", "保单号"}
    assert english("in_catalog") and not english("保单号") and not english("ID")
