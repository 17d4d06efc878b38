"""Mid-year joiners: who may buy after the sales window has closed, their cover and their premium.

Weihai's notice: 当年的退役军人及新生儿可在参加基本医疗保险时同步投保. Each program names the kinds
of people it lets in mid-year (``Program.midyear_kinds``: newborns, this year's veterans, anyone who
newly joined basic insurance), within ``midyear_join_days`` days of the day the registry says the
person joined basic insurance (``RegistryAnswer.joined_on``). Such a person is covered from the
day after payment (``cover.start_for``) to the version's end, and pays the full premium or the
premium pro-rata by month (``midyear_premium``): the months of cover, counting the month in which
cover starts, over the months of the version's cover period.

Everyone else is refused outside the sales window as before. The refusal names the rule, never
which status the person lacks (a veteran's status is not disclosed to another account).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from enrollment import cover

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Terms:
    """A mid-year joiner's cover and premium under one version, bought on one day."""

    cover_start: date
    cover_end: date
    months: int
    total_months: int
    pro_rata: bool

    def premium(self, price: Decimal) -> Decimal:
        if not self.pro_rata or self.months >= self.total_months:
            return price
        return (price * self.months / self.total_months).quantize(CENT, rounding=ROUND_HALF_UP)


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def open_on(version, today: date) -> bool:
    """Mid-year joining is possible under ``version`` today: its sales window has closed, its program
    names mid-year joiners, and cover bought today would still start before the version ends."""
    program = version.program
    return (
        bool(program.midyear_kinds)
        and today > version.sales_end
        and cover.start_for(version=version, paid_on=today) <= version.coverage_end
    )


def terms(version, today: date) -> Terms:
    start = cover.start_for(version=version, paid_on=today)
    return Terms(
        cover_start=start,
        cover_end=version.coverage_end,
        months=_months(start, version.coverage_end),
        total_months=_months(version.coverage_start, version.coverage_end),
        pro_rata=version.program.midyear_premium == version.program.PREMIUM_MONTHLY,
    )


def late_terms(version, today: date) -> Terms | None:
    """The mid-year terms when ``version`` is past its sales window and open to joiners today;
    ``None`` inside the sales window (everyone may buy) or when nobody may."""
    if version.sales_open_on(today) or not open_on(version, today):
        return None
    return terms(version, today)


def pricing_day(version, today: date) -> date:
    """The day a buyer's age is taken for his price: the version's cover start, or a mid-year
    joiner's own cover start (a newborn is priced at 0)."""
    late = late_terms(version, today)
    return late.cover_start if late else version.coverage_start


def notice(version, today: date) -> str:
    """The mid-year rule to show while only joiners may buy (empty otherwise)."""
    return rule_text(version) if late_terms(version, today) else ""


def may_sell(version, today: date) -> bool:
    """Anyone (in the window) or some people (mid-year joiners) may buy under ``version`` today."""
    return version.sales_open_on(today) or open_on(version, today)


def qualifies(program, answer, today: date) -> bool:
    """The registry's answer makes this person a mid-year joiner of ``program`` today."""
    joined = answer.joined_on
    if joined is None or not 0 <= (today - joined).days <= program.midyear_join_days:
        return False
    flags = {
        program.MIDYEAR_NEWBORN: answer.newborn,
        program.MIDYEAR_VETERAN: answer.veteran,
        program.MIDYEAR_NEWLY_INSURED: True,
    }
    return any(flags.get(kind, False) for kind in program.midyear_kinds)


def rule_text(version) -> str:
    """The rule as a resident reads it, e.g. on the product and purchase pages."""
    program = version.program
    labels = dict(program.MIDYEAR_KINDS)
    who = "、".join(labels[kind] for kind in program.midyear_kinds if kind in labels)
    premium = "保费按剩余保障月数折算" if program.midyear_premium == program.PREMIUM_MONTHLY else "保费全额缴纳"
    return (
        f"投保期已结束。{who}可在参加基本医疗保险之日起{program.midyear_join_days}日内投保，"
        f"缴费后次日起保障至{version.coverage_end:%Y年%-m月%-d日}，{premium}。"
    )


def refusal(version) -> tuple[str, str]:
    """The code and message for someone who may not join mid-year (names the rule, not the status)."""
    return "sales_closed", f"{version.name}的投保期已结束，此人不符合年度中途投保条件。{rule_text(version)}"
