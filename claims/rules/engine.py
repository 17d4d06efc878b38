"""The benefit rules of ``../shared/spec/benefit-rules.md``: one policy year, settlement by settlement.

Pure Python, ``Decimal`` only, no Django: the Celery claim task, ``manage.py adjudicate`` and the
portal's payout estimator all call ``adjudicate_year``.

How the rules are read (the spec's binding reading, plus what it leaves open):

- Processing order: ascending ``settled_at``, ties by ``settlement_id``; within a settlement the
  responsibilities in the configuration's order. The result lists settlements in that order.
- Rejections, checked in this order: ``duplicate`` (a ``settlement_id`` already seen in this year,
  whatever became of it: it pays nothing and changes nothing), ``not_insured`` (the ID number is
  not the policy's), ``outside_coverage`` (admission date outside the coverage period, both ends
  inclusive), ``not_covered`` (no responsibility's conditions hold for a non-zero amount).
- An amount whose responsibility's conditions fail counts as zero. Diagnosis ranges compare the
  ICD-10 category (letter and two digits), case-insensitively: ``C00–C97`` holds ``c34.1``.
- Deductible: per named group, consumed in processing order; a responsibility without a group has
  none. A settlement whose covered amounts all go to the deductible is accepted with 0.00.
- One band accumulator per policy year, shared by every responsibility whose schedule is bands:
  each amount (after the deductible) is laid on where the previous one ended, bands are
  upper-inclusive. A responsibility with a flat ratio neither reads nor moves the accumulator.
- Pre-existing settlements pay the plan's pre-existing ratio instead of the schedule; they still
  consume the deductible and, for band responsibilities, still advance the accumulator.
- Weihai sample features: the continuous-enrollment uplift (``per_year`` × prior consecutive
  years, at most ``cap``) and the medical-assistance ``ratio_bonus`` are added to every ratio —
  bands, flat and pre-existing alike — and a ratio never exceeds 100%. For medical-assistance
  recipients the tilt's deductibles replace the plan's for the groups it names.
- Drug-list responsibility (``field == "drugs"``): the covered amount is the sum of the
  settlement's ``drugs`` items whose code is on the list.
- Payout never above what the patient bore: a settlement's amounts are counted once. The patient's
  own part is ``total`` less what basic insurance, critical-illness insurance and medical assistance
  paid (without a ``total``: the sum of the other amounts). Each drug item is covered by the first
  drug-list responsibility (whose conditions hold) listing it, and the listed amount is kept out of
  ``in_catalog_self_pay`` (what is left of it, out of ``out_of_catalog``): the drugs were part of
  that burden, paid once under the drug line. Each amount field is covered by the first
  responsibility on it whose conditions hold. Every covered amount is then taken, in processing
  order, from what is left of the own part, so the covered amounts of a settlement add up to at
  most the own part; a line's rounded payout never exceeds its covered amount (ratios are at most
  100%, amounts whole cents), so neither does the settlement's payout.
- Limits cap each responsibility's exact cumulative payout; what is over the cap is not paid.
- Rounding is split-invariant: a settlement's payout on a responsibility is
  ``round(cumulative after) − round(cumulative before)``, half-up to cents, so a year's payouts add
  up to the rounded exact total however the costs are split (when none is pre-existing).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from claims.rules.model import (
    ACCEPTED,
    DUPLICATE,
    NOT_COVERED,
    NOT_INSURED,
    OUTSIDE_COVERAGE,
    REJECTED,
    BenefitConfig,
    Line,
    PolicyFacts,
    Responsibility,
    Segment,
    Settlement,
    SettlementResult,
    YearResult,
    YearState,
)

ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")
MONEY_ZERO = Decimal("0.00")

FIELD_LABELS = {
    "in_catalog_self_pay": "医保目录内个人自付费用",
    "out_of_catalog": "医保目录外费用",
    "heavy_ion": "重离子治疗费用",
    "drugs": "特定药品费用",
}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def yuan(value: Decimal) -> str:
    return f"{cents(value):,.2f}"


def percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}%"


def _category(code: str) -> str:
    return code.strip().upper()[:3]


class _Rule:
    """A responsibility with its checks precomputed once per configuration and policy."""

    __slots__ = ("r", "visit_types", "min_level", "designated", "in_region", "ranges", "label", "bands", "flat")

    def __init__(self, r: Responsibility, bonus: Decimal):
        c = r.conditions
        self.r = r
        self.visit_types = c.visit_types
        self.min_level = c.min_hospital_level
        self.designated = c.designated
        self.in_region = c.in_region
        self.ranges = tuple((lo.upper()[:3], hi.upper()[:3]) for lo, hi in c.diagnosis_ranges or ()) or None
        self.label = r.name or FIELD_LABELS.get(r.field, r.field)
        self.bands = tuple((b.upper, min(b.ratio + bonus, ONE)) for b in r.bands) if r.bands else ()
        self.flat = min(r.flat_ratio + bonus, ONE) if r.flat_ratio is not None and not r.bands else None

    def applies(self, s: Settlement) -> bool:
        if self.visit_types is not None and s.visit_type not in self.visit_types:
            return False
        if self.min_level is not None and s.hospital_level < self.min_level:
            return False
        if self.designated is not None and s.designated != self.designated:
            return False
        if self.in_region is not None and s.in_region != self.in_region:
            return False
        if self.ranges is not None:
            categories = [_category(d) for d in s.diagnoses]
            if not any(lo <= cat <= hi for cat in categories for lo, hi in self.ranges):
                return False
        return True


DRUGS = "drugs"
FUND_FIELDS = ("base_fund_paid", "critical_illness_paid", "medical_assistance_paid")
# Where listed drugs' amounts are taken out of, in order (see the module docstring).
DRUG_SOURCES = ("in_catalog_self_pay", "out_of_catalog")


def own_part(s: Settlement) -> Decimal:
    """What the patient bore in this settlement: the total less what the public funds paid."""
    amounts = s.amounts
    if "total" in amounts:
        left = amounts["total"] - sum((amounts.get(f, ZERO) for f in FUND_FIELDS), ZERO)
    else:
        left = sum((v for k, v in amounts.items() if k not in FUND_FIELDS), ZERO)
    return max(left, ZERO)


def _covered_amounts(rules: list[_Rule], s: Settlement) -> list[tuple[_Rule, Decimal, Decimal]]:
    """Each rule's covered amount in this settlement, counted once (module docstring), with what
    the own-part limit took off it. Rules covering nothing are left out."""
    applying = [rule for rule in rules if rule.applies(s)]
    claimed: set[int] = set()
    drug_amounts: dict[int, Decimal] = {}
    for rule in applying:
        if rule.r.field == DRUGS:
            listed = rule.r.drug_list
            mine = [i for i, d in enumerate(s.drugs) if i not in claimed and d.code.upper() in listed]
            claimed.update(mine)
            drug_amounts[id(rule)] = sum((s.drugs[i].amount for i in mine), ZERO)
    fields = {k: v for k, v in s.amounts.items() if k != "total" and k not in FUND_FIELDS}
    carve = sum(drug_amounts.values(), ZERO)
    for source in DRUG_SOURCES:
        taken = min(carve, fields.get(source, ZERO))
        if taken > 0:
            fields[source] -= taken
            carve -= taken
    left = own_part(s)
    covered = []
    for rule in applying:
        if rule.r.field == DRUGS:
            amount = drug_amounts[id(rule)]
        else:
            amount = fields.get(rule.r.field, ZERO)
            fields[rule.r.field] = ZERO
        if amount <= 0:
            continue
        kept = min(amount, left)
        left -= kept
        covered.append((rule, kept, amount - kept))
    return [item for item in covered if item[1] > 0]


def _bonus(config: BenefitConfig, policy: PolicyFacts) -> tuple[Decimal, list[str]]:
    bonus, notes = ZERO, []
    uplift = config.continuity_uplift
    if uplift is not None and policy.consecutive_years > 0:
        extra = min(uplift.per_year * policy.consecutive_years, uplift.cap)
        if extra > 0:
            bonus += extra
            notes.append(f"连续参保{policy.consecutive_years}年提高{(extra * 100).normalize():f}个百分点")
    tilt = config.assistance_tilt
    if tilt is not None and policy.medical_assistance and tilt.ratio_bonus > 0:
        bonus += tilt.ratio_bonus
        notes.append(f"医疗救助对象提高{(tilt.ratio_bonus * 100).normalize():f}个百分点")
    return bonus, notes


def _lay_on_bands(
    amount: Decimal, position: Decimal, bands: tuple[tuple[Decimal | None, Decimal], ...]
) -> tuple[Decimal, list[Segment]]:
    """Pay ``amount`` laid on the accumulator from ``position``; returns the exact payout and segments."""
    exact, segments, left = ZERO, [], amount
    for index, (upper, ratio) in enumerate(bands):
        if left <= 0:
            break
        last = index == len(bands) - 1
        if upper is not None and position >= upper and not last:
            continue
        room = left if upper is None or last else min(left, upper - position)
        exact += room * ratio
        segments.append(Segment(amount=room, ratio=ratio, band_from=position, band_to=position + room))
        position += room
        left -= room
    return exact, segments


def adjudicate_year(config: BenefitConfig, policy: PolicyFacts, settlements: Iterable[Settlement]) -> YearResult:
    """Compute one policy year from all its settlements, in processing order."""
    bonus, bonus_notes = _bonus(config, policy)
    bonus_text = f"（含{'、'.join(bonus_notes)}）" if bonus_notes else ""
    pre_existing_ratio = min(config.pre_existing_ratio + bonus, ONE)
    rules = [_Rule(r, bonus) for r in config.responsibilities]

    deductible_left = dict(config.deductibles)
    tilt = config.assistance_tilt
    if tilt is not None and policy.medical_assistance:
        deductible_left.update(tilt.deductibles)
    deductible_used = {group: ZERO for group in deductible_left}
    position = ZERO
    cumulative = {r.code: ZERO for r in config.responsibilities}
    seen: set[str] = set()
    results: list[SettlementResult] = []

    for s in sorted(settlements, key=lambda item: (item.settled_at, item.settlement_id)):
        reason = None
        if s.settlement_id in seen:
            reason = DUPLICATE
        elif s.id_number != policy.id_number:
            reason = NOT_INSURED
        elif not policy.coverage_start <= s.admission_date <= policy.coverage_end:
            reason = OUTSIDE_COVERAGE
        seen.add(s.settlement_id)
        covered = [] if reason else _covered_amounts(rules, s)
        if reason is None and not covered:
            reason = NOT_COVERED
        if reason:
            results.append(SettlementResult(s.settlement_id, REJECTED, reason, MONEY_ZERO))
            continue

        lines = []
        for rule, amount, over in covered:
            r = rule.r
            group = r.deductible_group
            taken = ZERO
            if group is not None:
                taken = min(deductible_left.get(group, ZERO), amount)
                if taken:
                    deductible_left[group] -= taken
                    deductible_used[group] = deductible_used.get(group, ZERO) + taken
            rest = amount - taken
            segments: list[Segment] = []
            if rest <= 0:
                exact = ZERO
            elif s.pre_existing:
                exact = rest * pre_existing_ratio
                if rule.bands:
                    segments.append(Segment(rest, pre_existing_ratio, position, position + rest))
                    position += rest
                else:
                    segments.append(Segment(rest, pre_existing_ratio))
            elif rule.bands:
                exact, segments = _lay_on_bands(rest, position, rule.bands)
                position += rest
            else:
                ratio = rule.flat if rule.flat is not None else ZERO
                exact = rest * ratio
                segments.append(Segment(rest, ratio))

            before = cumulative[r.code]
            after = min(before + exact, r.limit)
            capped = before + exact - after
            cumulative[r.code] = after
            payout = cents(after) - cents(before)
            lines.append(
                Line(
                    responsibility=r.code,
                    covered=cents(amount),
                    deductible=cents(taken),
                    payout=payout,
                    explanation=_explain(rule, amount, taken, rest, segments, s.pre_existing, payout, capped,
                                         r.limit, bonus_text, over),
                    segments=tuple(segments),
                    capped=capped,
                )
            )
        results.append(
            SettlementResult(s.settlement_id, ACCEPTED, None, sum((ln.payout for ln in lines), MONEY_ZERO),
                             tuple(lines))
        )

    state = YearState(
        deductible_used=deductible_used,
        band_position=position,
        cumulative=cumulative,
        paid={code: cents(value) for code, value in cumulative.items()},
    )
    return YearResult(results=tuple(results), state=state)


def _explain(rule: _Rule, amount, taken, rest, segments, pre_existing, payout, capped, limit, bonus_text,
             over=ZERO) -> str:
    parts = [f"{rule.label}{yuan(amount)}元"]
    if over > 0:
        parts[0] += f"（另{yuan(over)}元超出本次结算个人负担部分，不予计算）"
    if taken:
        parts.append(f"扣除免赔额{yuan(taken)}元")
    if rest <= 0:
        parts.append(f"全部计入免赔额，本次赔付{yuan(payout)}元")
        return "，".join(parts)
    if taken:
        parts.append(f"余{yuan(rest)}元")
    if pre_existing:
        parts.append(f"既往症按{percent(segments[0].ratio)}赔付{bonus_text}")
    elif segments and segments[0].band_from is not None:
        pieces = [
            f"累计{yuan(seg.band_from)}至{yuan(seg.band_to)}元段{yuan(seg.amount)}元按{percent(seg.ratio)}"
            for seg in segments
        ]
        parts.append("、".join(pieces) + bonus_text)
    else:
        parts.append(f"按{percent(segments[0].ratio)}赔付{bonus_text}")
    if capped > 0:
        parts.append(f"已达年度限额{yuan(limit)}元，超出部分不予赔付")
    parts.append(f"赔付{yuan(payout)}元")
    return "，".join(parts)
