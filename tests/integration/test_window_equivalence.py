"""The window's answer is the rule engine's: generated years settled at the window in date order
pay exactly the engine's per-settlement payouts; in any order, window payouts plus adjustments are
the engine's year; concurrent settles give the serial result."""

import itertools
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.models import Claim, ClaimLine, PolicyYear, Settlement, WindowSettlement
from claims.rules.engine import adjudicate_year
from claims.rules.records import parse_settlement
from claims.services.recompute import _config, _facts
from claims.services.window import window_settle
from enrollment.models import Policy
from tests.factories import make_id, settlement_record, settlement_source, sold_policy

COUNTER = itertools.count(1)
money = st.decimals(min_value=D("0.00"), max_value=D("90000.00"), places=2)


@st.composite
def years(draw):
    """Up to 8 settlements of one year: amounts, pre-existing flags, admission days (ties allowed)."""
    count = draw(st.integers(min_value=1, max_value=8))
    stays = []
    for index in range(count):
        stays.append({
            "day": draw(st.integers(min_value=0, max_value=360)),
            "minute": index,
            "pre_existing": draw(st.booleans()),
            "in_catalog_self_pay": draw(money), "out_of_catalog": draw(money), "heavy_ion": draw(money),
        })
    return stays


def _policy():
    n = next(COUNTER)
    id_number = make_id(f"62060219{50 + n // 336:02d}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}009")
    return sold_policy("wuwei-2025", f"参保人{n}", id_number, number=f"W{n:06d}-{random.randrange(10**6)}"), id_number


def _records(stays, id_number, prefix):
    records = []
    for index, stay in enumerate(stays):
        admitted = date(2025, 7, 1) + timedelta(days=stay["day"])
        amounts = {k: stay[k] for k in ("in_catalog_self_pay", "out_of_catalog", "heavy_ion")}
        records.append(settlement_record(
            f"{prefix}-{index}", id_number=id_number, admission=admitted.isoformat(),
            settled=f"{admitted.isoformat()}T10:{stay['minute']:02d}:00+08:00", pre_existing=stay["pre_existing"],
            **amounts))
    return records


def _engine(policy, records):
    policy = Policy.objects.select_related("person", "plan__version").get(pk=policy.pk)
    return adjudicate_year(_config(policy.plan), _facts(policy), [parse_settlement(r) for r in records])


@pytest.fixture
def source(products):
    return settlement_source()


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(stays=years())
def test_settled_in_date_order_the_window_pays_the_engines_per_settlement_payouts(source, stays):
    policy, id_number = _policy()
    records = _records(stays, id_number, f"P{policy.pk}")
    engine = _engine(policy, records)
    in_order = sorted(records, key=lambda r: (r["settled_at"], r["settlement_id"]))
    answers = {r["settlement_id"]: window_settle(source=source, record=r) for r in in_order}
    for result in engine.results:
        assert D(answers[result.settlement_id]["payout"]) == result.payout, result.settlement_id
        assert [line["payout"] for line in answers[result.settlement_id]["lines"]] == [
            f"{line.payout:.2f}" for line in result.lines]
    assert not ClaimLine.objects.filter(claim__policy=policy, kind=ClaimLine.ADJUSTMENT).exists()
    year = PolicyYear.objects.get(policy=policy)
    assert year.band_position == engine.state.band_position


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(stays=years(), order=st.randoms(use_true_random=False))
def test_in_any_order_window_payouts_plus_adjustments_are_the_engines_year(source, stays, order):
    policy, id_number = _policy()
    records = _records(stays, id_number, f"Q{policy.pk}")
    engine = _engine(policy, records)
    shuffled = list(records)
    order.shuffle(shuffled)
    window_total = sum((D(window_settle(source=source, record=r)["payout"]) for r in shuffled), D("0.00"))
    adjustments = sum(ClaimLine.objects.filter(claim__policy=policy, kind=ClaimLine.ADJUSTMENT)
                      .values_list("payout", flat=True), D("0.00"))
    assert window_total + adjustments == engine.total_payout
    # and each claim now pays what the engine gives its settlement (the recompute is the truth)
    payouts = dict(Claim.objects.filter(policy=policy).values_list("settlement__settlement_id", "payout"))
    assert payouts == {r.settlement_id: r.payout for r in engine.results}
    # the fixed window payouts were never rewritten
    fixed = dict(WindowSettlement.objects.filter(policy=policy).values_list("number", "payout"))
    assert sum(fixed.values(), D("0.00")) == window_total


def _two_hospitals(id_number, tag):
    first = settlement_record(f"H1-A{tag}", id_number=id_number, admission="2025-08-01", settled="2025-08-09T10:00:00+08:00")
    second = settlement_record(f"H2-B{tag}", id_number=id_number, admission="2025-08-02",
                               settled="2025-08-09T10:00:30+08:00", in_catalog_self_pay=0,
                               out_of_catalog="40000.00")
    second.update(hospital_code="H620600002", hospital_name="武威市中医医院")
    return first, second


def _at_once(calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.django_db(transaction=True)
def test_two_hospitals_settling_one_person_at_once_give_the_serial_result(products):
    source = settlement_source()
    for attempt in range(3):
        policy, id_number = _policy()
        first, second = _two_hospitals(id_number, attempt)
        answers = _at_once([lambda r=first: window_settle(source=source, record=r),
                            lambda r=second: window_settle(source=source, record=r)])
        payouts = [D(a["payout"]) for a in answers]
        # Serially: A first pays 5,400.00, then B 16,600.00; or B first pays 9,200.00 alone (28,000
        # after the deductible), then A, dated earlier, its engine payout 5,400.00 and B is adjusted by
        # +7,400.00. Either way the year is 22,000.00 and the deductible is taken once.
        assert payouts in ([D("5400.00"), D("16600.00")], [D("5400.00"), D("9200.00")]), payouts
        year = PolicyYear.objects.get(policy=policy)
        assert year.deductible_used == {"hospital": "12000.00"} and year.band_position == D("58000.00")
        lines = sum(ClaimLine.objects.filter(claim__policy=policy).values_list("payout", flat=True), D("0.00"))
        assert lines == D("22000.00")


@pytest.mark.django_db(transaction=True)
def test_the_same_settle_sent_twice_at_once_is_stored_once(products):
    source = settlement_source()
    for attempt in range(3):
        policy, id_number = _policy()
        record = settlement_record(f"T{attempt}", id_number=id_number)
        answers = _at_once([lambda r=record: window_settle(source=source, record=r)] * 2)
        assert answers[0] == answers[1] and answers[0]["payout"] == "5400.00"
        assert Settlement.objects.filter(settlement_id=f"T{attempt}").count() == 1
        assert WindowSettlement.objects.filter(number=f"T{attempt}").count() == 1
        assert Claim.objects.filter(policy=policy).count() == 1
