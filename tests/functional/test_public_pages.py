"""The public pages a resident sees first."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_lists_the_programs_on_offer(client, products):
    page = client.get("/").content.decode()
    assert "天马·医惠保" in page and "威你保" in page


def test_sample_plans_carry_the_sample_label(client, products):
    page = client.get(reverse("product_detail", args=["wuwei-2025"])).content.decode()
    assert "基础版" in page and "升级版" in page
    assert page.count("示例方案（参数待主管部门确认）") == 1  # upgrade only; basic is the notice's terms
    assert "12,000.00 元" in page and "30%" in page


def test_weihai_shows_age_band_prices_and_the_label(client, products):
    page = client.get(reverse("product_detail", args=["weihai-2025"])).content.decode()
    assert "示例方案（参数待主管部门确认）" in page
    assert "<td>0–17岁</td><td>59.00 元</td>" in page


def test_an_unknown_product_is_a_chinese_404(client, products):
    response = client.get(reverse("product_detail", args=["nosuch-2025"]))
    assert response.status_code == 404


def test_large_text_choice_persists_across_pages(client, products):
    assert 'class="large-text"' not in client.get("/").content.decode()
    response = client.post(reverse("text_size"), {"large": "1", "next": "/products/wuwei-2025/"})
    assert response.status_code == 302 and response["Location"] == "/products/wuwei-2025/"
    assert 'class="large-text"' in client.get("/").content.decode()
    client.post(reverse("text_size"), {"large": "0", "next": "/"})
    assert 'class="large-text"' not in client.get("/").content.decode()


def test_the_text_size_switch_never_redirects_off_site(client):
    response = client.post(reverse("text_size"), {"large": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_pages_send_a_strict_content_security_policy(client, products):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_htmx_is_served_from_our_own_static_files(client, products):
    page = client.get("/").content.decode()
    assert '<script src="/static/vendor/htmx-2.0.10.min.js"' in page
    assert "<script>" not in page  # no inline script: the CSP would block it


def test_health_answers_every_accept_header(client):
    """Issue 18: curl's default and load balancers' probes used to get 500 (TemplateDoesNotExist)."""
    for accept in (None, "*/*", "text/html", "text/plain", "text/html,application/xhtml+xml;q=0.9"):
        response = client.get("/health/", **({"HTTP_ACCEPT": accept} if accept else {}))
        assert response.status_code == 200, accept
        assert response["Content-Type"].startswith("text/plain")
        assert "Database(alias='default'): OK" in response.content.decode()
    response = client.get("/health/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json() == {
        "Database(alias='default')": "OK", "Cache(alias='default')": "OK"}
    assert client.get("/health/?format=json").json()["Cache(alias='default')"] == "OK"


def test_liveness_touches_neither_database_nor_cache(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live/")
    assert response.status_code == 200 and response.content == b"ok\n"
