"""Writes to the enrollment data: keyword arguments, one transaction each."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment import validation
from enrollment.models import (
    CoInsurer,
    DeductibleGroup,
    Person,
    Plan,
    PriceBand,
    ProductVersion,
    Program,
    RatioBand,
    Responsibility,
)
from portal import crypto

PRODUCTS_FILE = Path(__file__).resolve().parent / "data" / "products.json"


# --- Persons ---------------------------------------------------------------------------------


def person_get_or_create(*, name: str, id_number: str) -> Person:
    """The one Person for this ID number, created on first sight (concurrency-safe: the blind
    index is unique, so two simultaneous first sightings end with one row)."""
    person = Person(name=name.strip())
    parsed = person.set_id_number(id_number)  # raises IdNumberError
    existing = Person.objects.filter(id_hash=crypto.blind_index(parsed.number)).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        return Person.objects.get(id_hash=person.id_hash)
    return person


# --- Product configuration -------------------------------------------------------------------


@transaction.atomic
def version_publish(*, version: ProductVersion) -> ProductVersion:
    """Validate the whole version and freeze it. Raises ``ValidationError`` listing every problem."""
    version = ProductVersion.objects.select_for_update().select_related("program").get(pk=version.pk)
    if version.is_published:
        raise ValidationError("该产品版本已发布，不能重复发布。")
    errors = validation.version_errors(version)
    if errors:
        raise ValidationError(errors)
    version.publish()
    version.published_at = timezone.now()
    version.save()
    return version


def _copy_children(source: Plan, target: Plan) -> None:
    for model in (PriceBand, DeductibleGroup, RatioBand, Responsibility):
        rows = list(model.objects.filter(plan=source))
        for row in rows:
            row.pk = None
            row.plan = target
        model.objects.bulk_create(rows)


@transaction.atomic
def version_copy(*, version: ProductVersion, slug: str, year: int | None = None) -> ProductVersion:
    """A new draft with the same plans and terms: how a published version is "changed"."""
    if ProductVersion.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"版本代码“{slug}”已存在。"})
    plans = list(version.plans.all())
    version.pk = None
    version.slug = slug
    version.year = year or version.year
    version.status = ProductVersion.DRAFT
    version.published_at = None
    version.save()
    for plan in plans:
        source_pk = plan.pk
        plan.pk = None
        plan.version = version
        plan.save()
        _copy_children(Plan.objects.get(pk=source_pk), plan)
    return version


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _load_plan(version: ProductVersion, data: dict) -> None:
    plan = Plan.objects.create(
        version=version,
        code=data["code"],
        name=data["name"],
        position=data.get("position", 0),
        is_sample=data.get("is_sample", False),
        pricing=data.get("pricing", Plan.FLAT),
        price=_money(data.get("price")),
        pre_existing_ratio=Decimal(data["pre_existing_ratio"]),
        uplift_per_year=_money(data.get("uplift_per_year")),
        uplift_cap=_money(data.get("uplift_cap")),
        assistance_ratio_bonus=_money(data.get("assistance_ratio_bonus")),
    )
    PriceBand.objects.bulk_create(
        PriceBand(plan=plan, min_age=b["min_age"], max_age=b["max_age"], price=Decimal(b["price"]))
        for b in data.get("price_bands", [])
    )
    DeductibleGroup.objects.bulk_create(
        DeductibleGroup(
            plan=plan,
            code=g["code"],
            name=g["name"],
            amount=Decimal(g["amount"]),
            assistance_amount=_money(g.get("assistance_amount")),
        )
        for g in data.get("deductible_groups", [])
    )
    RatioBand.objects.bulk_create(
        RatioBand(plan=plan, upper=_money(b["upper"]), ratio=Decimal(b["ratio"])) for b in data["ratio_bands"]
    )
    Responsibility.objects.bulk_create(
        Responsibility(
            plan=plan,
            position=position,
            code=r["code"],
            name=r["name"],
            covered_field=r["covered_field"],
            annual_limit=Decimal(r["annual_limit"]),
            deductible_group=r.get("deductible_group", ""),
            schedule=r.get("schedule", Responsibility.BANDS),
            flat_ratio=_money(r.get("flat_ratio")),
            visit_types=r.get("visit_types", []),
            min_hospital_level=r.get("min_hospital_level"),
            require_designated=r.get("require_designated", False),
            require_in_region=r.get("require_in_region", False),
            diagnosis_ranges=r.get("diagnosis_ranges", ""),
            drug_list=r.get("drug_list", ""),
        )
        for position, r in enumerate(data["responsibilities"], start=1)
    )


@transaction.atomic
def products_load(*, path: Path = PRODUCTS_FILE) -> list[str]:
    """Load the shipped programs and versions; a version whose slug exists is left untouched
    (staff may have edited it). Returns the slugs created."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    created = []
    for p in data["programs"]:
        program, program_created = Program.objects.get_or_create(
            code=p["code"],
            defaults={
                "name": p["name"],
                "city": p["city"],
                "eligible_regions": p["eligible_regions"],
                "premium_cap_ratio": _money(p.get("premium_cap_ratio")),
                "payout_ratio_floor": _money(p.get("payout_ratio_floor")),
                "cost_ratio_ceiling": _money(p.get("cost_ratio_ceiling")),
                "loss_ratio_floor": _money(p.get("loss_ratio_floor")),
                "cycle_years": p.get("cycle_years", 1),
            },
        )
        if program_created:
            CoInsurer.objects.bulk_create(
                CoInsurer(program=program, name=c["name"], share=Decimal(c["share"]), is_lead=c["is_lead"])
                for c in p["coinsurers"]
            )
        for v in p["versions"]:
            if ProductVersion.objects.filter(slug=v["slug"]).exists():
                continue
            version = ProductVersion.objects.create(
                program=program,
                slug=v["slug"],
                year=v["year"],
                name=v["name"],
                sales_start=v["sales_start"],
                sales_end=v["sales_end"],
                coverage_start=v["coverage_start"],
                coverage_end=v["coverage_end"],
                resident_contribution=_money(v.get("resident_contribution")),
                terms_version=v.get("terms_version", "v1"),
            )
            for plan in v["plans"]:
                _load_plan(version, plan)
            if v.get("publish"):
                version_publish(version=version)
            created.append(version.slug)
    return created
