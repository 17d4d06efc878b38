"""The rule engine's vocabulary: plain frozen dataclasses, ``Decimal`` only, no Django.

A plan's benefit configuration (``BenefitConfig``) is built from the database by
``enrollment.selectors.benefit_config`` and from nothing else; the engine never reads a model.
Ratios are ``Decimal`` fractions (``Decimal("0.30")`` is 30%); money is ``Decimal`` yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

# Rejection reasons, stable codes shared with the API, the command and the admin.
NOT_COVERED = "not_covered"
OUTSIDE_COVERAGE = "outside_coverage"
NOT_INSURED = "not_insured"
DUPLICATE = "duplicate"
REJECTION_REASONS = (NOT_COVERED, OUTSIDE_COVERAGE, NOT_INSURED, DUPLICATE)

ACCEPTED = "accepted"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Band:
    """One segment of a ratio schedule: positions up to ``upper`` (inclusive) pay ``ratio``.

    ``upper`` is None for the last, open-ended band.
    """

    upper: Decimal | None
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class Conditions:
    """When a responsibility's covered amount counts. ``None`` means "any"."""

    visit_types: frozenset[str] | None = None  # {"inpatient"}, {"inpatient", "outpatient"}
    min_hospital_level: int | None = None  # 2 means 二级及以上
    designated: bool | None = None  # True: only 医保定点
    in_region: bool | None = None  # True: only 市域内
    # ICD-10 code ranges, inclusive, compared on the category (letter + two digits):
    # (("C00", "C97"),) matches "C34.1" and "c97".
    diagnosis_ranges: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Responsibility:
    """One benefit line (保险责任).

    ``field`` names the settlement amount it covers (``in_catalog_self_pay``, ``out_of_catalog``,
    ``heavy_ion``) or, for a drug-list responsibility, the special value ``"drugs"``: the covered
    amount is then the sum of the settlement's ``drugs`` items whose code is in ``drug_list``.

    ``deductible_group`` names an entry of ``BenefitConfig.deductibles`` (None: no deductible).
    The schedule is either ``bands`` (read on the plan's shared band accumulator, which every band
    responsibility advances) or ``flat_ratio`` (neither reads nor advances the accumulator).
    """

    code: str
    name: str
    field: str
    limit: Decimal
    conditions: Conditions = Conditions()
    deductible_group: str | None = None
    bands: tuple[Band, ...] = ()
    flat_ratio: Decimal | None = None
    drug_list: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ContinuityUplift:
    """Weihai: +``per_year`` ratio for each prior consecutive year of enrollment, at most ``cap``."""

    per_year: Decimal
    cap: Decimal


@dataclass(frozen=True, slots=True)
class AssistanceTilt:
    """Weihai: for medical-assistance recipients, deductibles replaced by ``deductibles``
    (group -> amount; a group not named keeps the plan's figure) and ``ratio_bonus`` added to
    every ratio."""

    deductibles: dict[str, Decimal] = field(default_factory=dict)
    ratio_bonus: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class BenefitConfig:
    responsibilities: tuple[Responsibility, ...]  # in processing order within a settlement
    deductibles: dict[str, Decimal]  # group -> yearly deductible
    pre_existing_ratio: Decimal
    continuity_uplift: ContinuityUplift | None = None
    assistance_tilt: AssistanceTilt | None = None


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    id_number: str  # normalised: 18 characters, upper-case X
    coverage_start: date
    coverage_end: date
    consecutive_years: int = 0  # prior consecutive years of enrollment
    medical_assistance: bool = False


@dataclass(frozen=True, slots=True)
class DrugItem:
    code: str
    amount: Decimal
    name: str = ""


@dataclass(frozen=True, slots=True)
class Settlement:
    """A validated settlement record (see ``claims.rules.records.parse_settlement``)."""

    settlement_id: str
    id_number: str  # normalised
    name: str
    hospital_code: str
    hospital_name: str
    hospital_level: int
    designated: bool
    in_region: bool
    visit_type: str
    admission_date: date
    discharge_date: date | None
    settled_at: datetime
    diagnoses: tuple[str, ...]
    pre_existing: bool
    amounts: dict[str, Decimal]
    drugs: tuple[DrugItem, ...] = ()
    reverses: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a covered amount paid at one ratio (for the explanation and the admin)."""

    amount: Decimal
    ratio: Decimal
    band_from: Decimal | None = None  # accumulator position where it started; None when flat
    band_to: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Line:
    responsibility: str
    covered: Decimal
    deductible: Decimal
    payout: Decimal  # rounded to cents, split-invariant
    explanation: str
    segments: tuple[Segment, ...] = ()
    capped: Decimal = Decimal("0")  # exact amount not paid because the limit was reached


@dataclass(frozen=True, slots=True)
class SettlementResult:
    settlement_id: str
    status: str  # ACCEPTED or REJECTED
    reason: str | None
    payout: Decimal
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True, slots=True)
class YearState:
    """The policy year's accumulators after the last settlement."""

    deductible_used: dict[str, Decimal]  # group -> amount consumed
    band_position: Decimal
    cumulative: dict[str, Decimal]  # responsibility code -> exact (unrounded) payout so far
    paid: dict[str, Decimal]  # responsibility code -> rounded payout so far


@dataclass(frozen=True, slots=True)
class YearResult:
    results: tuple[SettlementResult, ...]  # one per input settlement, in processing order
    state: YearState

    @property
    def total_payout(self) -> Decimal:
        return sum((r.payout for r in self.results), Decimal("0.00"))

    @property
    def deductible_used(self) -> Decimal:
        return sum(self.state.deductible_used.values(), Decimal("0.00"))
