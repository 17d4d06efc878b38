"""Reads of the enrollment data, and the one conversion of a plan into the engine's input."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from claims.rules.model import (
    AssistanceTilt,
    Band,
    BenefitConfig,
    Conditions,
    ContinuityUplift,
)
from claims.rules.model import Responsibility as RuleResponsibility
from enrollment.models import Plan, ProductVersion, Responsibility


def published_versions() -> QuerySet[ProductVersion]:
    return (
        ProductVersion.objects.filter(status=ProductVersion.PUBLISHED)
        .select_related("program")
        .prefetch_related("plans")
        .order_by("program__code", "-year")
    )


def plan_with_config(*, product: str, plan: str) -> Plan:
    """The plan ``plan`` of version ``product`` with everything the engine reads, prefetched.

    Raises ``Plan.DoesNotExist``.
    """
    return (
        Plan.objects.select_related("version__program")
        .prefetch_related(
            "deductible_groups",
            "ratio_bands",
            "price_bands",
            Prefetch("responsibilities", queryset=Responsibility.objects.order_by("position", "id")),
        )
        .get(version__slug=product, code=plan)
    )


def _ranges(text: str) -> tuple[tuple[str, str], ...] | None:
    """``"C00-C97, D00"`` → ``(("C00", "C97"), ("D00", "D00"))``; blank → None (any)."""
    ranges = []
    for part in text.replace("，", ",").split(","):
        part = part.strip().upper()
        if not part:
            continue
        low, _, high = part.partition("-")
        ranges.append((low.strip(), (high or low).strip()))
    return tuple(ranges) or None


def benefit_config(plan: Plan) -> BenefitConfig:
    """Convert a plan's database configuration into the engine's ``BenefitConfig``.

    Bands are configured once per plan (one schedule, one shared accumulator) and handed to every
    responsibility whose schedule is ``bands``.
    """
    bands = tuple(Band(upper=b.upper, ratio=b.ratio) for b in plan.ratio_bands.all())
    groups = list(plan.deductible_groups.all())
    responsibilities = []
    for r in plan.responsibilities.all():
        conditions = Conditions(
            visit_types=frozenset(r.visit_types) or None,
            min_hospital_level=r.min_hospital_level,
            designated=True if r.require_designated else None,
            in_region=True if r.require_in_region else None,
            diagnosis_ranges=_ranges(r.diagnosis_ranges),
        )
        responsibilities.append(
            RuleResponsibility(
                code=r.code,
                name=r.name,
                field=r.covered_field,
                limit=r.annual_limit,
                conditions=conditions,
                deductible_group=r.deductible_group or None,
                bands=bands if r.schedule == Responsibility.BANDS else (),
                flat_ratio=r.flat_ratio if r.schedule == Responsibility.FLAT else None,
                drug_list=frozenset(code.strip().upper() for code in r.drug_list.split() if code.strip()),
            )
        )
    uplift = None
    if plan.uplift_per_year is not None:
        uplift = ContinuityUplift(per_year=plan.uplift_per_year, cap=plan.uplift_cap or Decimal("0"))
    tilt = None
    if plan.assistance_ratio_bonus is not None or any(g.assistance_amount is not None for g in groups):
        tilt = AssistanceTilt(
            deductibles={g.code: g.assistance_amount for g in groups if g.assistance_amount is not None},
            ratio_bonus=plan.assistance_ratio_bonus or Decimal("0"),
        )
    return BenefitConfig(
        responsibilities=tuple(responsibilities),
        deductibles={g.code: g.amount for g in groups},
        pre_existing_ratio=plan.pre_existing_ratio,
        continuity_uplift=uplift,
        assistance_tilt=tilt,
    )


def percent(ratio: Decimal) -> str:
    value = (ratio * 100).normalize()
    return f"{value:f}%"


@dataclass(frozen=True)
class LineSummary:
    name: str
    limit: Decimal
    deductible: str
    ratio: str


@dataclass(frozen=True)
class PlanSummary:
    plan: Plan
    lines: list[LineSummary]
    pre_existing: str


def plan_summaries(version: ProductVersion) -> list[PlanSummary]:
    """What a resident reads about each plan: limits, deductibles and ratios in plain words."""
    plans = (
        version.plans.prefetch_related("price_bands", "ratio_bands", "deductible_groups", "responsibilities")
        .order_by("position", "code")
    )
    summaries = []
    for plan in plans:
        groups = {g.code: g for g in plan.deductible_groups.all()}
        band_text = "；".join(
            f"{'累计' + str(b.upper) + '元（含）以下' if b.upper is not None else '以上'}{percent(b.ratio)}"
            for b in plan.ratio_bands.all()
        )
        lines = []
        for r in plan.responsibilities.all():
            group = groups.get(r.deductible_group)
            deductible = f"{group.amount} 元（{group.name}）" if group else "无"
            ratio = band_text if r.schedule == Responsibility.BANDS else percent(r.flat_ratio or Decimal("0"))
            lines.append(LineSummary(name=r.name, limit=r.annual_limit, deductible=deductible, ratio=ratio))
        summaries.append(PlanSummary(plan=plan, lines=lines, pre_existing=percent(plan.pre_existing_ratio)))
    return summaries


def version_exists(slug: str) -> bool:
    return ProductVersion.objects.filter(slug=slug).exists()
