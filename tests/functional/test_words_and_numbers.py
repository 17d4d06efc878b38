"""Issue 17's words and numbers: what a resident reads on the product and policy pages."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import SELF_ID, active_policy, make_resident, roster

pytestmark = pytest.mark.django_db

IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"


def test_the_product_page_reads_limits_in_wan_and_no_internal_code(client, products):
    with time_machine.travel(IN_SALES_WINDOW):
        page = client.get(reverse("product_detail", args=["wuwei-2025"])).content.decode()
    assert "50万元" in page and "100万元" in page  # the annual limits
    assert "500000.00" not in page
    assert "12,000.00 元" in page  # a deductible that is no round ten-thousand
    assert "wuwei-2025" not in re.sub(r"<[^>]*>", "", page)  # in links, never in what is read
    assert "我要投保" in page and "已停售" not in page


def test_a_product_past_its_sales_window_is_off_sale_without_a_buy_button(client, products):
    with time_machine.travel("2025-07-01 10:00 +08:00"):  # wuwei-2025 sold 2025-06-01 to 06-30
        page = client.get(reverse("product_detail", args=["wuwei-2025"])).content.decode()
        home = client.get("/").content.decode()
    assert "已停售" in page
    assert "我要投保" not in page and reverse("enrollment:buy_plan", args=["wuwei-2025"]) not in page
    assert "已停售" in home


def test_age_band_prices_are_a_table(client, products):
    with time_machine.travel("2024-10-01 10:00 +08:00"):
        page = client.get(reverse("product_detail", args=["weihai-2025"])).content.decode()
        plan_page = client.get(reverse("enrollment:buy_plan", args=["weihai-2025"])).content.decode()
    for html in (page, plan_page):
        assert '<table class="prices">' in html
        assert "<td>0–17岁</td><td>59.00 元</td>" in html
        assert "按年龄元" not in html and "按年龄：" not in html


def test_an_age_priced_plan_is_named_without_a_missing_price(products):
    from enrollment.models import Plan
    from enrollment.views.org import _plan_label

    label = _plan_label(Plan.objects.filter(pricing="age_bands").first())
    assert "按年龄段定价" in label and "按年龄元" not in label


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    with time_machine.travel(IN_SALES_WINDOW):
        resident = make_resident()
        return resident, active_policy(resident)


@pytest.mark.parametrize(("day", "state"), [("2025-06-20", "待生效"), ("2025-09-01", "保障中"),
                                            ("2026-07-02", "已到期")])
def test_my_policies_reads_each_state_by_the_policys_own_dates(client, policy, day, state):
    resident, policy = policy
    client.force_login(resident.user)
    with time_machine.travel(f"{day} 10:00 +08:00"):
        page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert f"<strong data-cover-state>{state}</strong>" in page


def test_my_policies_links_renewal_and_the_estimator(client, policy):
    resident, policy = policy
    client.force_login(resident.user)
    with time_machine.travel("2025-09-01 10:00 +08:00"):
        page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert reverse("enrollment:renewal") in page
    assert reverse("enrollment:estimate", args=[policy.version.slug, policy.plan.code]) in page
    assert "69.00 元" in client.get(reverse("enrollment:policy_detail", args=[policy.number])).content.decode()


def test_a_cancelled_policy_reads_cancelled(client, policy):
    resident, policy = policy
    policy.status, policy.cancelled_at = "cancelled", timezone.now() - timedelta(days=1)
    policy.save()
    client.force_login(resident.user)
    page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert "<strong data-cover-state>已退保</strong>" in page
