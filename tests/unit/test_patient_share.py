"""Payout never above what the patient bore: for every settlement, the payouts of all
responsibilities together are at most the patient's own part (total less the public funds), and a
listed drug's amount is counted once, kept out of the in-catalog amount."""

from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.rules.engine import adjudicate_year, own_part
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
from claims.rules.records import RecordInvalid, parse_settlement
from tests.unit.wuwei import CST, HOSPITAL, ID, policy, stay, weihai_sample

DRUGS = frozenset({"XDRUG0001", "XDRUG0002", "XDRUG0003"})


def weihai_shipped() -> BenefitConfig:
    """The shipped Weihai sample plan's figures (enrollment/data/products.json)."""
    bands = (Band(D("100000.00"), D("0.60")), Band(None, D("0.70")))
    return BenefitConfig(
        responsibilities=(
            Responsibility("in_catalog", "医保目录内个人自付费用", "in_catalog_self_pay", D("1000000.00"),
                           Conditions(visit_types=frozenset({"inpatient"}), designated=True), "hospital", bands),
            Responsibility("out_of_catalog", "医保目录外合理医疗费用", "out_of_catalog", D("1000000.00"),
                           Conditions(visit_types=frozenset({"inpatient"}), designated=True), "hospital", bands),
            Responsibility("specific_drugs", "特定高额药品（含创新药）费用", "drugs", D("500000.00"),
                           flat_ratio=D("0.60"), drug_list=DRUGS),
        ),
        deductibles={"hospital": D("15000.00")},
        pre_existing_ratio=D("0.30"),
        continuity_uplift=ContinuityUplift(D("0.02"), D("0.10")),
        assistance_tilt=AssistanceTilt({"hospital": D("7500.00")}, D("0.05")),
    )


def probe_stay(drug_amount="50000.00") -> Settlement:
    """The issue's probe: a stay costing 30,000 in all, with 50,000 of listed drugs."""
    return stay(in_catalog_self_pay="30000.00", drugs=[("XDRUG0001", drug_amount)],
                amounts={"total": D("30000.00"), "in_catalog_self_pay": D("30000.00")})


def test_the_probe_pays_no_more_than_the_stay_cost():
    result = adjudicate_year(weihai_shipped(), policy(), [probe_stay()])
    payout = result.results[0].payout
    assert payout <= D("30000.00")  # was 39,000.00: 9,000 in-catalog + 30,000 drugs
    # The drugs were the in-catalog burden: the in-catalog line covers nothing, the drug line
    # covers what the patient bore (30,000 of the 50,000 claimed) at 60%.
    lines = {line.responsibility: line for line in result.results[0].lines}
    assert set(lines) == {"specific_drugs"}
    assert (lines["specific_drugs"].covered, lines["specific_drugs"].payout) == (D("30000.00"), D("18000.00"))
    assert "超出本次结算个人负担部分" in lines["specific_drugs"].explanation


def test_the_probe_record_is_refused_at_intake():
    record = {
        "settlement_id": "WH-1", "id_number": ID, "name": "王建国", "hospital_code": "H1", "hospital_name": "威海市立医院",
        "hospital_level": 3, "designated": True, "in_region": True, "visit_type": "inpatient",
        "admission_date": "2025-08-01", "discharge_date": "2025-08-09", "settled_at": "2025-08-09T10:00:00+08:00",
        "diagnoses": ["C34.1"], "pre_existing": False,
        "amounts": {"total": "30000.00", "in_catalog_self_pay": "30000.00"},
        "drugs": [{"code": "XDRUG0001", "name": "某创新药", "amount": "50000.00"}],
    }
    with pytest.raises(RecordInvalid) as caught:
        parse_settlement(record)
    assert [(e.field, e.code) for e in caught.value.errors] == [("drugs", "drugs_exceed_own_part")]
    record["drugs"][0]["amount"] = "30000.00"
    assert parse_settlement(record).drugs[0].amount == D("30000.00")
    # What the funds paid is not the patient's: 30,000 total of which basic insurance paid 10,000.
    record["amounts"] = {"total": "30000.00", "base_fund_paid": "10000.00", "in_catalog_self_pay": "20000.00"}
    with pytest.raises(RecordInvalid):
        parse_settlement(record)


def test_listed_drugs_are_kept_out_of_the_in_catalog_amount():
    # 40,000 in-catalog burden, 10,000 of it a listed drug: in-catalog covers 30,000, drugs 10,000.
    item = stay(in_catalog_self_pay="40000.00", drugs=[("XDRUG0001", "10000.00")],
                amounts={"total": D("40000.00"), "in_catalog_self_pay": D("40000.00")})
    result = adjudicate_year(weihai_shipped(), policy(), [item])
    lines = {line.responsibility: line.covered for line in result.results[0].lines}
    assert lines == {"in_catalog": D("30000.00"), "specific_drugs": D("10000.00")}
    # 15,000 deductible, 15,000 at 60% = 9,000; drugs 10,000 at 60% = 6,000.
    assert result.results[0].payout == D("15000.00")


def test_a_drug_on_two_lists_is_paid_once():
    twice = BenefitConfig(
        responsibilities=(
            Responsibility("drugs_a", "甲", "drugs", D("500000.00"), flat_ratio=D("0.50"), drug_list=DRUGS),
            Responsibility("drugs_b", "乙", "drugs", D("500000.00"), flat_ratio=D("0.80"), drug_list=DRUGS),
        ),
        deductibles={},
        pre_existing_ratio=D("0.20"),
    )
    result = adjudicate_year(twice, policy(), [stay(drugs=[("XDRUG0002", "10000.00")])])
    assert [(line.responsibility, line.payout) for line in result.results[0].lines] == [("drugs_a", D("5000.00"))]


def test_drugs_whose_line_does_not_apply_stay_in_the_in_catalog_amount():
    # The drug line is for outpatient (双通道) care only: an inpatient stay's drugs are in-catalog cost.
    config = weihai_shipped()
    drug_line = config.responsibilities[2]
    outpatient_only = Responsibility(drug_line.code, drug_line.name, "drugs", drug_line.limit,
                                     Conditions(visit_types=frozenset({"outpatient"})), None, (), D("0.60"), DRUGS)
    config = BenefitConfig(config.responsibilities[:2] + (outpatient_only,), config.deductibles, D("0.30"))
    item = stay(in_catalog_self_pay="40000.00", drugs=[("XDRUG0001", "10000.00")],
                amounts={"total": D("40000.00"), "in_catalog_self_pay": D("40000.00")})
    lines = adjudicate_year(config, policy(), [item]).results[0].lines
    assert [(line.responsibility, line.covered) for line in lines] == [("in_catalog", D("40000.00"))]


# --- The property over generated configurations -------------------------------------------------

ratios = st.decimals(min_value=D("0.00"), max_value=D("1.00"), places=2)
money = st.decimals(min_value=D("0.00"), max_value=D("300000.00"), places=2)
FIELDS = ("in_catalog_self_pay", "out_of_catalog", "heavy_ion", "drugs")
CODES = sorted(DRUGS | {"OTHER01"})


@st.composite
def responsibilities(draw, index):
    field = draw(st.sampled_from(FIELDS))
    conditions = draw(st.sampled_from([
        Conditions(), HOSPITAL, Conditions(visit_types=frozenset({"outpatient"})),
        Conditions(designated=True, in_region=True, diagnosis_ranges=(("C00", "C97"),)),
    ]))
    group = draw(st.sampled_from([None, "hospital", "drug"]))
    limit = draw(st.decimals(min_value=D("1000.00"), max_value=D("1000000.00"), places=2))
    if draw(st.booleans()):
        uppers = sorted(draw(st.lists(st.decimals(min_value=D("1.00"), max_value=D("200000.00"), places=2),
                                      unique=True, max_size=3)))
        bands = tuple(Band(u, draw(ratios)) for u in uppers) + (Band(None, draw(ratios)),)
        flat = None
    else:
        bands, flat = (), draw(ratios)
    drug_list = frozenset(draw(st.lists(st.sampled_from(CODES), max_size=4))) if field == "drugs" else frozenset()
    return Responsibility(f"r{index}", f"责任{index}", field, limit, conditions, group, bands, flat, drug_list)


@st.composite
def configurations(draw):
    count = draw(st.integers(min_value=1, max_value=5))
    return BenefitConfig(
        responsibilities=tuple(draw(responsibilities(i)) for i in range(count)),
        deductibles={"hospital": draw(money), "drug": draw(money)},
        pre_existing_ratio=draw(ratios),
        continuity_uplift=draw(st.none() | st.builds(ContinuityUplift, ratios, ratios)),
        assistance_tilt=draw(st.none() | st.builds(
            AssistanceTilt, st.fixed_dictionaries({"hospital": money}), ratios)),
    )


@st.composite
def settlement(draw, index):
    parts = {f: draw(money) for f in ("base_fund_paid", "critical_illness_paid", "medical_assistance_paid",
                                      "in_catalog_self_pay", "out_of_catalog", "heavy_ion")}
    # Mostly valid records (total at least the sum of the parts); sometimes a sender's mistake.
    total = sum(parts.values(), D("0")) + draw(money) if draw(st.integers(0, 4)) else draw(money)
    drugs = tuple(DrugItem(draw(st.sampled_from(CODES)), draw(money)) for _ in range(draw(st.integers(0, 3))))
    day = draw(st.integers(min_value=0, max_value=200))
    admitted = date(2025, 8, 1) + timedelta(days=day)
    return Settlement(
        settlement_id=f"S{index:03d}", id_number=ID, name="王建国", hospital_code="H", hospital_name="医院",
        hospital_level=draw(st.integers(1, 3)), designated=draw(st.booleans()), in_region=draw(st.booleans()),
        visit_type=draw(st.sampled_from(["inpatient", "outpatient"])), admission_date=admitted,
        discharge_date=admitted, settled_at=datetime(2025, 8, 2, tzinfo=CST) + timedelta(days=day),
        diagnoses=(draw(st.sampled_from(["I63.9", "C34.1", "Z00.0"])),), pre_existing=draw(st.booleans()),
        amounts={"total": total, **parts}, drugs=drugs,
    )


@settings(max_examples=400, deadline=None)
@given(config=configurations(), data=st.data(), years=st.integers(0, 10), assistance=st.booleans())
def test_no_settlement_pays_more_than_the_patient_bore(config, data, years, assistance):
    items = [data.draw(settlement(i)) for i in range(data.draw(st.integers(1, 6)))]
    facts = PolicyFacts(ID, date(2025, 7, 1), date(2026, 6, 30), consecutive_years=years,
                        medical_assistance=assistance)
    result = adjudicate_year(config, facts, items)
    by_id = {s.settlement_id: s for s in items}
    for r in result.results:
        bore = own_part(by_id[r.settlement_id])
        assert r.payout <= bore
        assert sum((line.covered for line in r.lines), D("0")) <= bore
        assert all(line.payout <= line.covered for line in r.lines)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), years=st.integers(0, 10), assistance=st.booleans())
def test_the_weihai_sample_plans_never_pay_more_than_the_patient_bore(data, years, assistance):
    items = [data.draw(settlement(i)) for i in range(data.draw(st.integers(1, 6)))]
    facts = policy(consecutive_years=years, medical_assistance=assistance)
    for config in (weihai_sample(), weihai_shipped()):
        result = adjudicate_year(config, facts, items)
        by_id = {s.settlement_id: s for s in items}
        assert all(r.payout <= own_part(by_id[r.settlement_id]) for r in result.results)
