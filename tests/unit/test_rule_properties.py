"""Properties of the rules that must hold for any costs (hypothesis)."""

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.rules.engine import adjudicate_year
from tests.unit.wuwei import CST, policy, stay, weihai_sample, wuwei_basic

money = st.decimals(min_value=D("0.00"), max_value=D("400000.00"), places=2)
positive = st.decimals(min_value=D("0.01"), max_value=D("400000.00"), places=2)
FIELDS = ("in_catalog_self_pay", "out_of_catalog", "heavy_ion")


@st.composite
def settlements(draw, max_size=8, pre_existing=True):
    count = draw(st.integers(min_value=1, max_value=max_size))
    result = []
    for index in range(count):
        amounts = {field: draw(money) for field in FIELDS}
        result.append(
            stay(
                sid=f"S{index:03d}",
                day=draw(st.integers(min_value=0, max_value=300)),
                pre_existing=draw(st.booleans()) if pre_existing else False,
                diagnoses=(draw(st.sampled_from(["I63.9", "C34.1", "C97", "D00.1"])),),
                hospital_level=draw(st.integers(min_value=1, max_value=3)),
                **amounts,
            )
        )
    return result


def split(amount: D, cuts: list[int]) -> list[D]:
    """Split ``amount`` into parts at the given cent positions (all parts >= 0, summing exactly)."""
    total_cents = int(amount * 100)
    points = sorted({min(c, total_cents) for c in cuts})
    parts, previous = [], 0
    for point in [*points, total_cents]:
        parts.append(D(point - previous) / 100)
        previous = point
    return parts


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(["in_catalog_self_pay", "out_of_catalog"]), amount=positive,
       cuts=st.lists(st.integers(min_value=0, max_value=40_000_000), max_size=6),
       before=st.lists(positive, max_size=2))
def test_splitting_a_stay_into_settlements_never_changes_the_year_total(field, amount, cuts, before):
    earlier = [stay(sid=f"E{i}", day=i, **{field: value}) for i, value in enumerate(before)]
    whole = adjudicate_year(wuwei_basic(), policy(), [*earlier, stay(sid="W", day=100, **{field: amount})])
    parts = [stay(sid=f"P{i}", day=100 + i, **{field: part}) for i, part in enumerate(split(amount, cuts))]
    pieces = adjudicate_year(wuwei_basic(), policy(), [*earlier, *parts])
    assert pieces.total_payout == whole.total_payout


@settings(max_examples=150, deadline=None)
@given(items=settlements())
def test_payouts_never_exceed_a_limit(items):
    config = wuwei_basic(limit=D("50000.00"))
    result = adjudicate_year(config, policy(), items)
    assert all(paid <= D("50000.00") for paid in result.state.paid.values())
    per_responsibility = {}
    for r in result.results:
        for line in r.lines:
            per_responsibility[line.responsibility] = per_responsibility.get(line.responsibility, 0) + line.payout
    assert all(total <= D("50000.00") for total in per_responsibility.values())


@settings(max_examples=150, deadline=None)
@given(items=settlements(), index=st.data(), extra=positive, field=st.sampled_from(FIELDS))
def test_more_cost_never_pays_less(items, index, extra, field):
    i = index.draw(st.integers(min_value=0, max_value=len(items) - 1))
    target = items[i]
    amounts = target.amounts
    more = replace(target, amounts={**amounts, field: amounts.get(field, D(0)) + extra, "total": amounts["total"] + extra})
    base = adjudicate_year(wuwei_basic(), policy(), items).total_payout
    bigger = adjudicate_year(wuwei_basic(), policy(), [*items[:i], more, *items[i + 1:]]).total_payout
    assert bigger >= base


@settings(max_examples=150, deadline=None)
@given(items=settlements(), seed=st.randoms(use_true_random=False))
def test_input_order_does_not_matter(items, seed):
    shuffled = list(items)
    seed.shuffle(shuffled)
    first = adjudicate_year(wuwei_basic(), policy(), items)
    second = adjudicate_year(wuwei_basic(), policy(), shuffled)
    assert first == second


@settings(max_examples=150, deadline=None)
@given(items=settlements(), weihai=st.booleans(), years=st.integers(min_value=0, max_value=8),
       assistance=st.booleans())
def test_the_total_equals_the_sum_of_results_and_of_lines(items, weihai, years, assistance):
    config = weihai_sample() if weihai else wuwei_basic()
    result = adjudicate_year(config, policy(consecutive_years=years, medical_assistance=assistance), items)
    assert result.total_payout == sum((r.payout for r in result.results), D("0"))
    for r in result.results:
        assert r.payout == sum((line.payout for line in r.lines), D("0"))
        assert r.payout >= 0 and r.payout == r.payout.quantize(D("0.01"))
    assert result.total_payout == sum(result.state.paid.values(), D("0"))


def test_same_settled_at_is_ordered_by_settlement_id():
    when = datetime(2025, 8, 9, 10, tzinfo=CST) + timedelta(days=1)
    items = [stay(sid="B", settled_at=when, in_catalog_self_pay="30000"),
             stay(sid="A", settled_at=when, in_catalog_self_pay="30000")]
    result = adjudicate_year(wuwei_basic(), policy(), items)
    assert [r.settlement_id for r in result.results] == ["A", "B"]
