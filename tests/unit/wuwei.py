"""Wuwei 2025 ``basic`` exactly as benefit-rules.md states it, and a settlement builder.

Shared by the unit tests and ``bench/rules.py``; the database's shipped configuration is checked
against the same figures in tests/integration/test_product_configuration.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from claims.rules.model import (
    AssistanceTilt,
    Band,
    BenefitConfig,
    Conditions,
    ContinuityUplift,
    DrugItem,
    PolicyFacts,
    Responsibility,
    Settlement,
)

D = Decimal
ID = "620602197505201231"
CST = timezone(timedelta(hours=8))
BANDS = (Band(D("20000.00"), D("0.30")), Band(D("50000.00"), D("0.40")), Band(None, D("0.50")))
HOSPITAL = Conditions(visit_types=frozenset({"inpatient"}), min_hospital_level=2, designated=True)


def wuwei_basic(**changes) -> BenefitConfig:
    limit = changes.pop("limit", D("500000.00"))
    config = dict(
        responsibilities=(
            Responsibility("in_catalog", "医保目录内住院医疗费用", "in_catalog_self_pay", limit, HOSPITAL, "hospital", BANDS),
            Responsibility("out_of_catalog", "医保目录外住院医疗费用", "out_of_catalog", limit, HOSPITAL, "hospital", BANDS),
            Responsibility(
                "heavy_ion",
                "重离子治疗费用",
                "heavy_ion",
                limit,
                Conditions(designated=True, in_region=True, diagnosis_ranges=(("C00", "C97"),)),
                None,
                BANDS,
            ),
        ),
        deductibles={"hospital": D("12000.00")},
        pre_existing_ratio=D("0.20"),
    )
    config.update(changes)
    return BenefitConfig(**config)


def weihai_sample() -> BenefitConfig:
    return wuwei_basic(
        responsibilities=wuwei_basic().responsibilities[:2]
        + (
            Responsibility(
                "specific_drugs", "特定药品费用", "drugs", D("500000.00"), flat_ratio=D("0.60"),
                drug_list=frozenset({"XDRUG0001", "XDRUG0002"}),
            ),
        ),
        continuity_uplift=ContinuityUplift(per_year=D("0.02"), cap=D("0.10")),
        assistance_tilt=AssistanceTilt(deductibles={"hospital": D("6000.00")}, ratio_bonus=D("0.05")),
    )


def policy(**changes) -> PolicyFacts:
    facts = dict(id_number=ID, coverage_start=date(2025, 7, 1), coverage_end=date(2026, 6, 30))
    facts.update(changes)
    return PolicyFacts(**facts)


_counter = iter(range(1, 10**9))


def stay(*, sid: str | None = None, day: int = 0, pre_existing: bool = False, drugs=(), **overrides) -> Settlement:
    """An inpatient stay at a designated tertiary hospital in Wuwei; amounts in yuan as keyword
    arguments (``in_catalog_self_pay="30000"``), ``day`` days after 2025-08-01."""
    amounts = {
        key: D(str(overrides.pop(key)))
        for key in ("in_catalog_self_pay", "out_of_catalog", "heavy_ion")
        if key in overrides
    }
    # Drug items are part of the stay's cost beyond the other amounts (the helper's reading), plus
    # 1,000.00 the patient bore that no responsibility covers.
    drug_items = tuple(DrugItem(code, D(str(amount))) for code, amount in drugs)
    admitted = date(2025, 8, 1) + timedelta(days=day)
    fields = dict(
        settlement_id=sid or f"S{next(_counter):06d}",
        id_number=ID,
        name="张桂兰",
        hospital_code="H620600001",
        hospital_name="武威市人民医院",
        hospital_level=3,
        designated=True,
        in_region=True,
        visit_type="inpatient",
        admission_date=admitted,
        discharge_date=admitted + timedelta(days=3),
        settled_at=datetime(2025, 8, 1, 10, tzinfo=CST) + timedelta(days=day + 3),
        diagnoses=("I63.9",),
        pre_existing=pre_existing,
        amounts={"total": sum(amounts.values(), D("0")) + sum((d.amount for d in drug_items), D("0")) + D("1000"),
                 **amounts},
        drugs=drug_items,
    )
    fields.update(overrides)
    return Settlement(**fields)
