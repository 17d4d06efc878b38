"""The surplus pool: a year's surplus enters the pool once its cover ended (once per version), use of
the pool is recorded against its balance, the dashboard shows it; Weihai's 80% floor per year and
per cycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from claims.models import Claim
from enrollment import services as enrollment_services
from enrollment.models import Plan, ProductVersion
from supervision import pool, selectors
from supervision.models import PoolEntry, SurplusPool
from supervision.services import Refused
from tests.factories import login_as, staff_user
from tests.integration.test_supervision_figures import claim, policy

pytestmark = pytest.mark.django_db
AFTER_WUWEI_2025 = "2026-07-05 10:00 +08:00"


def next_version(slug: str, new_slug: str) -> ProductVersion:
    """A published copy of ``slug`` one year later."""
    version = enrollment_services.version_copy(version=ProductVersion.objects.get(slug=slug), slug=new_slug,
                                               year=ProductVersion.objects.get(slug=slug).year + 1)
    for field in ("sales_start", "sales_end", "coverage_start", "coverage_end"):
        setattr(version, field, getattr(version, field).replace(year=getattr(version, field).year + 1))
    version.name = f"{version.name}（{version.year}）"
    version.save()
    return enrollment_services.version_publish(version=version)


@pytest.fixture
def wuwei_year(products):
    """wuwei-2025: three policies of 69.00 = 207.00, claims 50.00 paid + 20.00 pending."""
    version = ProductVersion.objects.get(slug="wuwei-2025")
    plan = Plan.objects.get(version=version, code="basic")
    a = policy(version, plan, "620602", 1950, "self")
    policy(version, plan, "620602", 1960, "self")
    policy(version, plan, "620602", 1970, "self")
    claim(a, "50.00", "50.00", Claim.PAID)
    claim(a, "20.00", "0.00", Claim.APPROVED)
    return version


def test_the_year_end_surplus_enters_next_years_pool_once(wuwei_year):
    staff = staff_user("finance", superuser=True)
    with time_machine.travel("2026-06-30 10:00 +08:00"), pytest.raises(Refused) as early:
        pool.year_close(version=wuwei_year, user=staff)
    assert early.value.code == "cover_not_ended"
    with time_machine.travel(AFTER_WUWEI_2025):
        entry = pool.year_close(version=wuwei_year, user=staff)
        with pytest.raises(Refused) as again:
            pool.year_close(version=wuwei_year, user=staff)
    # 207.00 − 70.00 claims − 16.56 operating (8%) = 120.44, for the next year's payouts.
    assert (entry.amount, entry.premiums, entry.claims, entry.operating) == (
        Decimal("120.44"), Decimal("207.00"), Decimal("70.00"), Decimal("16.56"))
    assert entry.pool.cycle_start == 2026 and entry.pool.balance == Decimal("120.44")
    assert again.value.code == "already_closed" and PoolEntry.objects.count() == 1


def test_use_of_the_pool_is_recorded_and_never_exceeds_the_balance(wuwei_year):
    staff = staff_user("finance", superuser=True)
    with time_machine.travel(AFTER_WUWEI_2025):
        entry = pool.year_close(version=wuwei_year, user=staff)
    next_year = next_version("wuwei-2025", "wuwei-2026")
    the_pool = entry.pool
    with pytest.raises(Refused) as too_much:
        pool.pool_use(pool=the_pool, version=next_year, amount="200.00", note="补充给付", user=staff)
    assert too_much.value.code == "pool_insufficient"
    with pytest.raises(Refused) as wrong_year:
        pool.pool_use(pool=the_pool, version=wuwei_year, amount="10.00", note="补充给付", user=staff)
    assert wrong_year.value.code == "version_not_in_cycle"
    used = pool.pool_use(pool=the_pool, version=next_year, amount="100.00", note="补充给付2026年度理赔", user=staff)
    the_pool.refresh_from_db()
    assert (used.amount, used.balance_after, the_pool.balance) == (Decimal("-100.00"), Decimal("20.44"),
                                                                   Decimal("20.44"))
    assert sum(e.amount for e in the_pool.entries.all()) == the_pool.balance


def test_a_deficit_year_puts_nothing_in_the_pool(products):
    version = ProductVersion.objects.get(slug="wuwei-2025")
    plan = Plan.objects.get(version=version, code="basic")
    claim(policy(version, plan, "620602", 1950, "self"), "500.00", "500.00", Claim.PAID)
    with time_machine.travel(AFTER_WUWEI_2025):
        entry = pool.year_close(version=version, user=staff_user("finance", superuser=True))
    assert entry.amount == Decimal("0.00") and SurplusPool.objects.get().balance == Decimal("0.00")


def test_the_dashboard_shows_the_pool_balance(client, wuwei_year):
    staff = staff_user("finance", superuser=True)
    with time_machine.travel(AFTER_WUWEI_2025):
        pool.year_close(version=wuwei_year, user=staff)
    login_as(client, staff)
    page = client.get(reverse("supervision:dashboard"), {"version": wuwei_year.pk}).content.decode()
    assert "结余资金池" in page and '<strong data-figure="pool-balance">120.44 元</strong>' in page


def test_staff_close_the_year_and_record_a_use_in_the_admin(client, wuwei_year):
    staff = staff_user("finance", superuser=True)
    login_as(client, staff)
    with time_machine.travel(AFTER_WUWEI_2025):
        response = client.post(reverse("admin:supervision_surpluspool_close", args=[wuwei_year.program_id]),
                               {"version": wuwei_year.pk})
    assert response.status_code == 302
    the_pool = SurplusPool.objects.get()
    next_year = next_version("wuwei-2025", "wuwei-2026")
    bad = client.post(reverse("admin:supervision_surpluspool_use", args=[the_pool.pk]),
                      {"version": next_year.pk, "amount": "999.00", "note": "给付"})
    assert bad.status_code == 422 and "不足" in bad.content.decode()
    clerk = staff_user("clerk")
    login_as(client, clerk)
    assert client.get(reverse("admin:supervision_surpluspool_use", args=[the_pool.pk])).status_code == 403


def test_weihai_is_held_to_80_percent_each_year_and_over_the_cycle(products):
    """2025: 69.00 premiums, 100.00 claims (145%); 2026: 69.00, 40.00 (58%): the cycle's 140/138 passes,
    2026 alone does not."""
    first = ProductVersion.objects.get(slug="weihai-2025")
    second = next_version("weihai-2025", "weihai-2026")
    for version, amount in ((first, "100.00"), (second, "40.00")):
        plan = Plan.objects.get(version=version, code="standard")
        claim(policy(version, plan, "371002", 1980, "self"), amount, amount, Claim.PAID)
    per_version, per_cycle = selectors.money(first.program)
    checks = {m.label: m.checks for m in per_version + per_cycle}
    assert checks[first.name] == [("年度赔付率", True, "不低于80.00%")]
    assert checks[second.name] == [("年度赔付率", False, "不低于80.00%")]  # not checked per year before
    assert checks["2025–2027年考核周期"] == [("周期赔付率", True, "3年周期内不低于80.00%")]
