"""Every clause of benefit-rules.md, on the Wuwei 2025 basic plan unless said otherwise."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal as D

from claims.rules.engine import adjudicate_year
from tests.unit.wuwei import CST, ID, policy, stay, weihai_sample, wuwei_basic


def run(*settlements, config=None, facts=None):
    return adjudicate_year(config or wuwei_basic(), facts or policy(), settlements)


def payouts(result):
    return [r.payout for r in result.results]


# --- The four worked examples --------------------------------------------------------------


def test_example_1_one_stay_pays_5400():
    result = run(stay(in_catalog_self_pay="30000.00"))
    assert payouts(result) == [D("5400.00")]
    line = result.results[0].lines[0]
    assert (line.covered, line.deductible, line.payout) == (D("30000.00"), D("12000.00"), D("5400.00"))


def test_example_2_a_second_stay_crosses_all_three_bands_and_pays_16600():
    result = run(stay(in_catalog_self_pay="30000.00", day=0), stay(out_of_catalog="40000.00", day=30))
    assert payouts(result) == [D("5400.00"), D("16600.00")]
    segments = result.results[1].lines[0].segments
    assert [(s.amount, s.ratio) for s in segments] == [(D("2000.00"), D("0.30")), (D("30000.00"), D("0.40")),
                                                      (D("8000.00"), D("0.50"))]
    assert result.total_payout == D("22000.00")


def test_example_3_heavy_ion_has_no_deductible_and_moves_the_accumulator():
    result = run(stay(heavy_ion="10000.00", diagnoses=("C50.9",), visit_type="outpatient", discharge_date=None))
    assert payouts(result) == [D("3000.00")]
    assert result.state.band_position == D("10000.00")
    assert result.deductible_used == D("0")


def test_example_4_pre_existing_pays_20_percent_and_still_moves_deductible_and_bands():
    result = run(stay(in_catalog_self_pay="22000.00", pre_existing=True))
    assert payouts(result) == [D("2000.00")]
    assert result.state.band_position == D("10000.00")
    assert result.deductible_used == D("12000.00")


# --- Conditions -------------------------------------------------------------------------------


def test_a_first_level_hospital_is_not_covered():
    result = run(stay(in_catalog_self_pay="30000", hospital_level=1))
    assert (result.results[0].status, result.results[0].reason) == ("rejected", "not_covered")


def test_a_non_designated_hospital_is_not_covered():
    assert run(stay(in_catalog_self_pay="30000", designated=False)).results[0].reason == "not_covered"


def test_outpatient_costs_are_not_covered_by_the_hospital_responsibilities():
    result = run(stay(in_catalog_self_pay="30000", visit_type="outpatient", discharge_date=None))
    assert result.results[0].reason == "not_covered"


def test_heavy_ion_needs_a_malignant_tumour_diagnosis():
    assert run(stay(heavy_ion="10000", diagnoses=("I63.9",))).results[0].reason == "not_covered"
    assert payouts(run(stay(heavy_ion="10000", diagnoses=("I10", "c97")))) == [D("3000.00")]
    assert payouts(run(stay(heavy_ion="10000", diagnoses=("C00",)))) == [D("3000.00")]
    assert run(stay(heavy_ion="10000", diagnoses=("D00.1",))).results[0].reason == "not_covered"


def test_heavy_ion_outside_the_city_is_not_covered():
    assert run(stay(heavy_ion="10000", diagnoses=("C34.1",), in_region=False)).results[0].reason == "not_covered"


def test_an_amount_whose_conditions_fail_counts_as_zero_while_others_pay():
    # heavy_ion fails (no tumour diagnosis) but in_catalog pays.
    result = run(stay(in_catalog_self_pay="30000", heavy_ion="10000"))
    assert [line.responsibility for line in result.results[0].lines] == ["in_catalog"]
    assert payouts(result) == [D("5400.00")]


def test_hospital_level_two_is_enough():
    assert payouts(run(stay(in_catalog_self_pay="30000", hospital_level=2))) == [D("5400.00")]


# --- Deductible, bands, accumulator ----------------------------------------------------------


def test_the_deductible_is_shared_by_in_catalog_and_out_of_catalog():
    result = run(stay(in_catalog_self_pay="8000", out_of_catalog="10000"))
    lines = result.results[0].lines
    assert [(line.deductible, line.payout) for line in lines] == [(D("8000.00"), D("0.00")),
                                                                   (D("4000.00"), D("1800.00"))]


def test_a_settlement_eaten_by_the_deductible_is_accepted_with_zero_and_moves_it():
    result = run(stay(in_catalog_self_pay="5000"), stay(in_catalog_self_pay="10000", day=10))
    first = result.results[0]
    assert (first.status, first.payout) == ("accepted", D("0.00"))
    assert "免赔额" in first.lines[0].explanation
    assert payouts(result)[1] == D("900.00")  # 7,000 left of the deductible, 3,000 at 30%


def test_heavy_ion_does_not_touch_the_deductible():
    result = run(stay(heavy_ion="10000", diagnoses=("C50.9",)), stay(in_catalog_self_pay="12000", day=5))
    assert payouts(result) == [D("3000.00"), D("0.00")]
    assert result.deductible_used == D("12000.00")


def test_heavy_ion_advances_the_accumulator_for_later_hospital_costs():
    result = run(stay(heavy_ion="20000", diagnoses=("C50.9",)), stay(in_catalog_self_pay="22000", day=5))
    # accumulator at 20,000 after heavy ion; the 10,000 after the deductible pays 40%
    assert payouts(result) == [D("6000.00"), D("4000.00")]


def test_band_boundaries_are_upper_inclusive():
    result = run(stay(in_catalog_self_pay="32000"))  # exactly 20,000 after the deductible
    assert payouts(result) == [D("6000.00")]
    assert [s.ratio for s in result.results[0].lines[0].segments] == [D("0.30")]


def test_above_50000_pays_50_percent():
    result = run(stay(in_catalog_self_pay="162000"))  # 150,000 after deductible
    assert payouts(result) == [D("6000.00") + D("12000.00") + D("50000.00")]


def test_pre_existing_ratio_applies_instead_of_the_bands_even_high_up():
    result = run(stay(in_catalog_self_pay="100000"), stay(out_of_catalog="10000", pre_existing=True, day=9))
    assert payouts(result)[1] == D("2000.00")
    assert result.state.band_position == D("98000.00")


# --- Processing order, rejections --------------------------------------------------------------


def test_settlements_are_processed_by_settled_at_then_id_whatever_the_input_order():
    a = stay(sid="B", in_catalog_self_pay="30000", settled_at=datetime(2025, 8, 5, 9, tzinfo=CST))
    b = stay(sid="A", out_of_catalog="40000", settled_at=datetime(2025, 8, 5, 9, tzinfo=CST))
    result = run(a, b)
    assert [r.settlement_id for r in result.results] == ["A", "B"]
    assert payouts(result) == [D("9200.00"), D("12800.00")]  # A first: 28,000 then 30,000 on the bands


def test_within_a_settlement_in_catalog_goes_before_out_of_catalog():
    result = run(stay(in_catalog_self_pay="12000", out_of_catalog="20000"))
    lines = result.results[0].lines
    assert [(line.responsibility, line.deductible) for line in lines] == [("in_catalog", D("12000.00")),
                                                                          ("out_of_catalog", D("0.00"))]


def test_a_duplicate_settlement_id_pays_nothing_and_changes_nothing():
    first = stay(sid="S1", in_catalog_self_pay="30000")
    again = replace(first, settled_at=datetime(2025, 9, 1, tzinfo=CST))
    result = run(first, again)
    assert [(r.status, r.reason, r.payout) for r in result.results] == [
        ("accepted", None, D("5400.00")), ("rejected", "duplicate", D("0.00"))]
    assert result.state.band_position == D("18000.00")


def test_another_persons_settlement_is_not_insured():
    result = run(stay(in_catalog_self_pay="30000", id_number="11010519491231002X"))
    assert result.results[0].reason == "not_insured"
    assert result.deductible_used == 0


def test_coverage_is_decided_by_the_admission_date_both_ends_inclusive():
    facts = policy()
    inside = [stay(in_catalog_self_pay="13000", admission_date=facts.coverage_start, sid="S-first"),
              stay(in_catalog_self_pay="13000", admission_date=facts.coverage_end, sid="S-last")]
    outside = [stay(in_catalog_self_pay="13000", admission_date=date(2025, 6, 30), sid="S-before"),
               stay(in_catalog_self_pay="13000", admission_date=date(2026, 7, 1), sid="S-after")]
    result = run(*inside, *outside)
    reasons = {r.settlement_id: r.reason for r in result.results}
    assert reasons == {"S-first": None, "S-last": None, "S-before": "outside_coverage", "S-after": "outside_coverage"}


# --- Limits and rounding ----------------------------------------------------------------------


def test_each_responsibility_is_capped_at_its_annual_limit():
    result = run(stay(in_catalog_self_pay="1200000"), stay(in_catalog_self_pay="100000", day=9))
    assert payouts(result) == [D("500000.00"), D("0.00")]
    assert result.results[0].lines[0].capped > 0
    assert "年度限额" in result.results[0].lines[0].explanation
    assert result.state.paid["in_catalog"] == D("500000.00")


def test_the_limit_is_per_responsibility():
    result = run(stay(in_catalog_self_pay="1200000"), stay(out_of_catalog="100000", day=9))
    assert payouts(result)[1] == D("50000.00")


def test_rounding_is_split_invariant():
    whole = run(stay(in_catalog_self_pay="12000.03"), config=wuwei_basic(deductibles={"hospital": D("0")}))
    parts = run(stay(in_catalog_self_pay="4000.01", day=0), stay(in_catalog_self_pay="4000.01", day=1),
                stay(in_catalog_self_pay="4000.01", day=2), config=wuwei_basic(deductibles={"hospital": D("0")}))
    assert whole.total_payout == parts.total_payout == D("3600.01")  # 3,600.009 rounded once
    assert payouts(parts) == [D("1200.00"), D("1200.01"), D("1200.00")]


def test_the_explanation_names_deductible_band_and_ratio():
    text = run(stay(in_catalog_self_pay="30000")).results[0].lines[0].explanation
    assert "扣除免赔额12,000.00元" in text and "30%" in text and "5,400.00" in text


# --- Weihai sample features ----------------------------------------------------------------------


def test_continuous_enrollment_adds_points_up_to_the_cap():
    config = weihai_sample()
    three = run(stay(in_catalog_self_pay="22000"), config=config, facts=policy(consecutive_years=3))
    ten = run(stay(in_catalog_self_pay="22000"), config=config, facts=policy(consecutive_years=10))
    assert payouts(three) == [D("3600.00")]  # 10,000 x (30% + 6 points)
    assert payouts(ten) == [D("4000.00")]  # capped at +10 points
    assert "连续参保3年" in three.results[0].lines[0].explanation


def test_medical_assistance_recipients_get_a_lower_deductible_and_a_higher_ratio():
    config = weihai_sample()
    result = run(stay(in_catalog_self_pay="16000"), config=config, facts=policy(medical_assistance=True))
    assert payouts(result) == [D("3500.00")]  # deductible 6,000; 10,000 x 35%
    plain = run(stay(in_catalog_self_pay="16000"), config=config)
    assert payouts(plain) == [D("1200.00")]


def test_uplift_and_tilt_add_to_the_pre_existing_ratio_too():
    config = weihai_sample()
    result = run(stay(in_catalog_self_pay="16000", pre_existing=True), config=config,
                 facts=policy(medical_assistance=True, consecutive_years=1))
    assert payouts(result) == [D("2700.00")]  # 10,000 x (20% + 2 + 5 points)


def test_a_ratio_never_exceeds_100_percent():
    config = weihai_sample()
    from claims.rules.model import AssistanceTilt
    config = replace(config, assistance_tilt=AssistanceTilt(ratio_bonus=D("0.90")))
    result = run(stay(in_catalog_self_pay="112000"), config=config, facts=policy(medical_assistance=True))
    assert payouts(result) == [D("100000.00")]


def test_the_drug_list_responsibility_pays_listed_drugs_at_its_flat_ratio():
    config = weihai_sample()
    result = run(stay(drugs=[("XDRUG0001", "10000"), ("OTHER", "5000")]), config=config)
    line = result.results[0].lines[0]
    assert (line.responsibility, line.covered, line.payout) == ("specific_drugs", D("10000.00"), D("6000.00"))
    assert result.state.band_position == 0  # a flat responsibility leaves the accumulator alone


def test_drugs_off_the_list_are_not_covered():
    result = run(stay(drugs=[("OTHER", "5000")]), config=weihai_sample())
    assert result.results[0].reason == "not_covered"


def test_the_policy_id_number_is_compared_exactly():
    assert run(stay(in_catalog_self_pay="30000", id_number=ID)).results[0].status == "accepted"
