"""Staff edit plans in the admin; inconsistent configurations are refused with a clear message."""

from decimal import Decimal

import pytest
from django.urls import reverse

from enrollment.models import CoInsurer, Plan, ProductVersion, Program, RatioBand

pytestmark = pytest.mark.django_db


def _inline(prefix: str, rows: list[dict], initial: int) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def _value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def plan_post_data(plan: Plan, **changes) -> dict:
    """The change form exactly as the admin renders it for ``plan``, with ``changes`` applied."""
    data = {
        "version": str(plan.version_id),
        "code": plan.code,
        "name": plan.name,
        "position": str(plan.position),
        "is_sample": "on" if plan.is_sample else "",
        "pricing": plan.pricing,
        "price": _value(plan.price),
        "pre_existing_ratio": str(plan.pre_existing_ratio),
        "uplift_per_year": _value(plan.uplift_per_year),
        "uplift_cap": _value(plan.uplift_cap),
        "assistance_ratio_bonus": _value(plan.assistance_ratio_bonus),
    }
    children = {
        "price_bands": [
            {"id": b.pk, "plan": plan.pk, "min_age": b.min_age, "max_age": b.max_age, "price": b.price}
            for b in plan.price_bands.all()
        ],
        "deductible_groups": [
            {"id": g.pk, "plan": plan.pk, "code": g.code, "name": g.name, "amount": g.amount,
             "assistance_amount": g.assistance_amount}
            for g in plan.deductible_groups.all()
        ],
        "ratio_bands": [
            {"id": b.pk, "plan": plan.pk, "upper": b.upper, "ratio": b.ratio} for b in plan.ratio_bands.all()
        ],
        "responsibilities": [
            {"id": r.pk, "plan": plan.pk, "position": r.position, "code": r.code, "name": r.name,
             "covered_field": r.covered_field, "annual_limit": r.annual_limit,
             "deductible_group": r.deductible_group, "schedule": r.schedule, "flat_ratio": r.flat_ratio,
             "visit_types": r.visit_types, "min_hospital_level": r.min_hospital_level,
             "require_designated": r.require_designated, "require_in_region": r.require_in_region,
             "diagnosis_ranges": r.diagnosis_ranges, "drug_list": r.drug_list}
            for r in plan.responsibilities.all()
        ],
    }
    for key, value in changes.items():
        if key in children:
            children[key] = value(children[key])
        else:
            data[key] = value
    for prefix, rows in children.items():
        initial = sum(1 for row in rows if row.get("id"))
        data.update(_inline(prefix, [{k: _value(v) for k, v in row.items()} for row in rows], initial))
    return data


@pytest.fixture
def draft_plan(draft_version):
    return draft_version.plans.get(code="basic")


def _post(admin_client, plan, **changes):
    url = reverse("admin:enrollment_plan_change", args=[plan.pk])
    return admin_client.post(url, plan_post_data(plan, **changes))


def _page(response) -> str:
    return response.content.decode()


def test_an_unchanged_plan_saves(admin_client, draft_plan):
    response = _post(admin_client, draft_plan)
    assert response.status_code == 302, _page(response)


def test_bands_not_ascending_are_refused_and_nothing_changes(admin_client, draft_plan):
    def swap(rows):
        rows[0]["upper"], rows[1]["upper"] = rows[1]["upper"], rows[0]["upper"]
        return rows

    response = _post(admin_client, draft_plan, ratio_bands=swap)
    assert response.status_code == 200
    assert "累计金额上限必须从低到高递增" in _page(response)
    assert list(RatioBand.objects.filter(plan=draft_plan).values_list("upper", flat=True)) == [
        Decimal("20000.00"), Decimal("50000.00"), None,
    ]


def test_a_ratio_above_100_percent_is_refused(admin_client, draft_plan):
    def too_high(rows):
        rows[2]["ratio"] = "1.5"
        return rows

    response = _post(admin_client, draft_plan, ratio_bands=too_high)
    assert response.status_code == 200
    assert not RatioBand.objects.filter(plan=draft_plan, ratio__gt=1).exists()


def test_a_premium_above_half_the_resident_contribution_is_refused(admin_client, draft_plan):
    response = _post(admin_client, draft_plan, price="201.00")
    assert response.status_code == 200
    assert "201.00元超过上限200.00元" in _page(response)
    draft_plan.refresh_from_db()
    assert draft_plan.price == Decimal("69.00")


def test_a_responsibility_naming_a_missing_deductible_group_is_refused(admin_client, draft_plan):
    def rename(rows):
        rows[0]["deductible_group"] = "nosuch"
        return rows

    response = _post(admin_client, draft_plan, responsibilities=rename)
    assert response.status_code == 200
    assert "免赔额组“nosuch”不存在" in _page(response)


def test_a_flat_responsibility_without_its_ratio_is_refused(admin_client, draft_plan):
    def flat(rows):
        rows[2]["schedule"] = "flat"
        rows[2]["flat_ratio"] = None
        return rows

    response = _post(admin_client, draft_plan, responsibilities=flat)
    assert response.status_code == 200
    assert "须填写固定赔付比例" in _page(response)


def test_age_bands_with_a_gap_are_refused(admin_client, draft_plan):
    def bands(rows):
        return [
            {"plan": draft_plan.pk, "min_age": 0, "max_age": 17, "price": "49.00"},
            {"plan": draft_plan.pk, "min_age": 20, "max_age": None, "price": "69.00"},
        ]

    response = _post(admin_client, draft_plan, pricing="age_bands", price="", price_bands=bands)
    assert response.status_code == 200
    assert "有重叠或空档" in _page(response)
    assert not draft_plan.price_bands.exists()


def test_a_published_plan_is_read_only_in_the_admin(admin_client, products):
    plan = Plan.objects.get(version__slug="wuwei-2025", code="basic")
    response = admin_client.post(reverse("admin:enrollment_plan_change", args=[plan.pk]), plan_post_data(plan, price="70.00"))
    assert response.status_code == 403
    plan.refresh_from_db()
    assert plan.price == Decimal("69.00")


def test_coinsurer_shares_must_add_up_to_exactly_100_percent(admin_client, products):
    program = Program.objects.get(code="wuwei")
    coinsurers = list(program.coinsurers.order_by("pk"))
    data = {
        "code": program.code, "name": program.name, "city": program.city,
        "eligible_regions": ",".join(program.eligible_regions),
        "premium_cap_ratio": str(program.premium_cap_ratio), "payout_ratio_floor": "0.85",
        "cost_ratio_ceiling": "0.95", "loss_ratio_floor": "", "cycle_years": "1",
    }
    rows = [
        {"id": c.pk, "program": program.pk, "name": c.name, "share": "0.3" if i == 0 else str(c.share),
         "is_lead": "on" if c.is_lead else ""}
        for i, c in enumerate(coinsurers)
    ]
    data.update(_inline("coinsurers", rows, len(rows)))
    response = admin_client.post(reverse("admin:enrollment_program_change", args=[program.pk]), data)
    assert response.status_code == 200
    assert "份额合计应恰好为100%，当前为80%" in _page(response)
    assert CoInsurer.objects.get(pk=coinsurers[0].pk).share == coinsurers[0].share


def test_publish_action_reports_what_is_wrong(admin_client, draft_version):
    Plan.objects.filter(version=draft_version, code="basic").update(price=None)
    response = admin_client.post(
        reverse("admin:enrollment_productversion_changelist"),
        {"action": "publish", "_selected_action": [draft_version.pk]},
        follow=True,
    )
    assert "统一保费方案须填写保费" in _page(response)
    assert ProductVersion.objects.get(pk=draft_version.pk).status == ProductVersion.DRAFT
