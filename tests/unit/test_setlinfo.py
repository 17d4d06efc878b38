"""The platform's settlement record (setlinfo) mapped onto the engine's record: the amounts
derived, every inconsistency and unknown field refused by the platform's field name."""

from decimal import Decimal

import pytest

from claims.rules import setlinfo
from claims.rules.records import RecordInvalid, parse_settlement

WEIHAI_ID = "371002198001011232"
SAMPLE = {
    "setl_id": "S3710002025080900001", "mdtrt_id": "M3710002025080100001", "psn_no": "37100200000000000000012345",
    "psn_name": "王建国", "psn_cert_type": "01", "certno": WEIHAI_ID, "insutype": "310", "med_type": "21",
    "setl_time": "2025-08-09 10:00:00", "begndate": "2025-08-01 08:30:00", "enddate": "2025-08-09 09:00:00",
    "fixmedins_code": "H37100200001", "fixmedins_name": "威海市立医院", "hosp_lv": "02",
    "insuplc_admdvs": "371002", "mdtrtarea_admvs": "371003",
    "medfee_sumamt": "63000.00", "fulamt_ownpay_amt": "5000.00", "overlmt_selfpay": "1000.00",
    "preselfpay_amt": "2000.00", "inscp_scp_amt": "55000.00", "hifp_pay": "20000.00", "hifob_pay": "1000.00",
    "hifmi_pay": "6000.00", "maf_pay": "0.00", "fund_pay_sumamt": "27000.00", "psn_part_amt": "36000.00",
    "acct_pay": "3000.00", "psn_cash_pay": "33000.00",
    "diseinfo": [{"diag_code": "I63.900"}, {"diag_code": "I10.x00"}],
}


def refused(**changes):
    record = {**SAMPLE, **changes}
    record = {k: v for k, v in record.items() if v is not None}
    with pytest.raises(RecordInvalid) as exc:
        setlinfo.to_record(record)
    return {(e.field, e.code) for e in exc.value.errors}, exc.value


def test_the_sample_maps_to_the_engines_amounts_and_validates():
    record = setlinfo.to_record(SAMPLE)
    assert record["amounts"] == {"total": "63000.00", "base_fund_paid": "21000.00", "critical_illness_paid": "6000.00",
                                 "medical_assistance_paid": "0.00", "in_catalog_self_pay": "30000.00",
                                 "out_of_catalog": "6000.00", "heavy_ion": "0.00"}
    parsed = parse_settlement(record)
    assert (parsed.settlement_id, parsed.id_number, parsed.visit_type, parsed.hospital_level) == (
        "S3710002025080900001", WEIHAI_ID, "inpatient", 3)
    assert (str(parsed.admission_date), str(parsed.discharge_date)) == ("2025-08-01", "2025-08-09")
    assert parsed.settled_at.isoformat() == "2025-08-09T10:00:00+08:00"
    assert parsed.in_region and parsed.designated and not parsed.pre_existing
    assert parsed.diagnoses == ("I63.900", "I10.X00")


def test_heavy_ion_is_taken_out_of_the_self_paid_part_and_numbers_are_accepted():
    record = setlinfo.to_record({**SAMPLE, "hvy_ion_amt": "4000.00", "medfee_sumamt": 63000})
    assert (record["amounts"]["heavy_ion"], record["amounts"]["out_of_catalog"]) == ("4000.00", "2000.00")


def test_outpatient_in_another_city_and_levels():
    record = setlinfo.to_record({k: v for k, v in {**SAMPLE, "med_type": "14", "mdtrtarea_admvs": "370102",
                                                   "hosp_lv": "11"}.items() if k != "enddate"})
    assert (record["visit_type"], record["in_region"], record["hospital_level"]) == ("outpatient", False, 1)
    assert "discharge_date" not in record


@pytest.mark.parametrize(("changes", "expected"), [
    ({"fund_pay_sumamt": "27000.01"}, ("setlinfo.fund_pay_sumamt", "inconsistent")),
    ({"psn_part_amt": "35000.00"}, ("setlinfo.psn_part_amt", "inconsistent")),
    ({"inscp_scp_amt": "60000.00"}, ("setlinfo.inscp_scp_amt", "inconsistent")),
    ({"hvy_ion_amt": "5000.01"}, ("setlinfo.hvy_ion_amt", "inconsistent")),
    ({"med_type": "99"}, ("setlinfo.med_type", "unknown_med_type")),
    ({"hosp_lv": "12"}, ("setlinfo.hosp_lv", "invalid_choice")),
    ({"medfee_sumamt": 63000.0}, ("setlinfo.medfee_sumamt", "invalid_type")),
    ({"maf_pay": "-1.00"}, ("setlinfo.maf_pay", "negative")),
    ({"hifp_pay": "1.005"}, ("setlinfo.hifp_pay", "invalid_amount")),
    ({"setl_time": "2025-08-09T10:00:00"}, ("setlinfo.setl_time", "invalid_datetime")),
    ({"enddate": None}, ("setlinfo.enddate", "required")),
    ({"diseinfo": []}, ("setlinfo.diseinfo", "required")),
    ({"certno": None}, ("setlinfo.certno", "required")),
    ({"insuplc_admdvs": "3710"}, ("setlinfo.insuplc_admdvs", "invalid_region")),
    ({"hifmi_pay_extra": "1.00"}, ("setlinfo.hifmi_pay_extra", "unknown_field")),
])
def test_each_unknown_or_inconsistent_field_is_refused_by_name(changes, expected):
    fields, exc = refused(**changes)
    assert expected in fields
    assert all(e.message.startswith(e.field) for e in exc.errors)


def test_every_problem_is_reported_at_once():
    fields, _ = refused(med_type="99", fund_pay_sumamt="1.00", diseinfo=None)
    assert {f for f, _ in fields} >= {"setlinfo.med_type", "setlinfo.fund_pay_sumamt", "setlinfo.diseinfo"}


def test_the_engine_fields_are_named_as_the_platform_names_them():
    assert setlinfo.field_of("id_number") == "setlinfo.certno"
    assert setlinfo.field_of("diagnoses[0]") == "setlinfo.diseinfo"
    assert Decimal(setlinfo.to_record(SAMPLE)["amounts"]["total"]) == Decimal("63000.00")
