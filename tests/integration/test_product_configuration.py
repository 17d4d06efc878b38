"""The product configuration on PostgreSQL: shipped data, publishing, frozen versions, the admin's checks."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from enrollment import selectors, services
from enrollment.models import CoInsurer, Plan, ProductVersion, RatioBand

pytestmark = pytest.mark.django_db


def test_shipped_products_are_loaded_once_and_published(products):
    assert services.products_load() == []  # second load changes nothing
    slugs = set(ProductVersion.objects.values_list("slug", flat=True))
    assert {"wuwei-2025", "weihai-2025"} <= slugs
    wuwei = ProductVersion.objects.get(slug="wuwei-2025")
    assert wuwei.is_published
    assert set(wuwei.plans.values_list("code", flat=True)) == {"basic", "upgrade"}


def test_wuwei_basic_carries_the_notice_terms(products):
    plan = selectors.plan_with_config(product="wuwei-2025", plan="basic")
    config = selectors.benefit_config(plan)
    assert plan.price == Decimal("69.00") and not plan.is_sample
    assert config.deductibles == {"hospital": Decimal("12000.00")}
    assert config.pre_existing_ratio == Decimal("0.2000")
    codes = [r.code for r in config.responsibilities]
    assert codes == ["in_catalog", "out_of_catalog", "heavy_ion"]
    assert all(r.limit == Decimal("500000.00") for r in config.responsibilities)
    heavy = config.responsibilities[2]
    assert heavy.deductible_group is None
    assert heavy.conditions.diagnosis_ranges == (("C00", "C97"),)
    assert heavy.conditions.in_region is True and heavy.conditions.designated is True
    in_catalog = config.responsibilities[0]
    assert in_catalog.conditions.visit_types == frozenset({"inpatient"})
    assert in_catalog.conditions.min_hospital_level == 2
    assert [(b.upper, b.ratio) for b in in_catalog.bands] == [
        (Decimal("20000.00"), Decimal("0.3000")),
        (Decimal("50000.00"), Decimal("0.4000")),
        (None, Decimal("0.5000")),
    ]


def test_upgrade_and_weihai_are_sample_plans(products):
    assert Plan.objects.get(version__slug="wuwei-2025", code="upgrade").is_sample
    weihai = Plan.objects.get(version__slug="weihai-2025", code="standard")
    assert weihai.is_sample and weihai.pricing == Plan.AGE_BANDS
    assert weihai.price_for_age(10) < weihai.price_for_age(50)  # lower premiums for the young
    config = selectors.benefit_config(selectors.plan_with_config(product="weihai-2025", plan="standard"))
    assert config.continuity_uplift is not None and config.assistance_tilt is not None
    assert any(r.field == "drugs" and r.drug_list for r in config.responsibilities)


def test_a_published_version_cannot_be_changed_even_by_sql(products):
    version = ProductVersion.objects.get(slug="wuwei-2025")
    with pytest.raises(DatabaseError), transaction.atomic():
        ProductVersion.objects.filter(pk=version.pk).update(name="改名")
    band = RatioBand.objects.filter(plan__version=version).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        RatioBand.objects.filter(pk=band.pk).update(ratio=Decimal("0.9"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Plan.objects.filter(version=version).delete()
    version.refresh_from_db()
    assert version.name != "改名"


def test_copy_makes_an_editable_draft_with_the_same_terms(draft_version):
    assert draft_version.status == ProductVersion.DRAFT
    plan = draft_version.plans.get(code="basic")
    RatioBand.objects.filter(plan=plan, upper=Decimal("20000.00")).update(ratio=Decimal("0.35"))
    original = selectors.benefit_config(selectors.plan_with_config(product="wuwei-2025", plan="basic"))
    assert original.responsibilities[0].bands[0].ratio == Decimal("0.3000")  # the published one is untouched


def test_publishing_refuses_shares_that_do_not_add_up(draft_version):
    CoInsurer.objects.filter(program=draft_version.program, is_lead=False).first().delete()
    with pytest.raises(ValidationError) as exc:
        services.version_publish(version=draft_version)
    assert any("100%" in m for m in exc.value.messages)
    draft_version.refresh_from_db()
    assert draft_version.status == ProductVersion.DRAFT


def test_publishing_refuses_a_premium_above_the_cap(draft_version):
    Plan.objects.filter(version=draft_version, code="upgrade").update(price=Decimal("250.00"))
    with pytest.raises(ValidationError) as exc:
        services.version_publish(version=draft_version)
    assert any("250.00元超过上限200.00元" in m for m in exc.value.messages)


def test_publishing_a_consistent_draft_freezes_it(draft_version):
    services.version_publish(version=draft_version)
    draft_version.refresh_from_db()
    assert draft_version.is_published and draft_version.published_at is not None
