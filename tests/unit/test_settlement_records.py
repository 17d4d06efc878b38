"""Every bad-input rule of settlement-record.md: each names the field, with a code and Chinese text."""

import copy

import pytest

from claims.rules.records import RecordInvalid, flatten_row, parse_settlement

GOOD = {
    "settlement_id": "WW-H620600001-2025-000123",
    "id_number": "620602197505201231",
    "name": "张桂兰",
    "hospital_code": "H620600001",
    "hospital_name": "武威市人民医院",
    "hospital_level": 3,
    "designated": True,
    "in_region": True,
    "visit_type": "inpatient",
    "admission_date": "2025-08-01",
    "discharge_date": "2025-08-09",
    "settled_at": "2025-08-09T10:00:00+08:00",
    "diagnoses": ["I63.9"],
    "pre_existing": False,
    "amounts": {
        "total": "63000.00",
        "base_fund_paid": "21000.00",
        "critical_illness_paid": "6000.00",
        "medical_assistance_paid": "0.00",
        "in_catalog_self_pay": "30000.00",
        "out_of_catalog": "6000.00",
        "heavy_ion": "0.00",
    },
}


def record(**changes):
    data = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if key.startswith("amounts__"):
            name = key.split("__", 1)[1]
            if value is ...:
                data["amounts"].pop(name, None)
            else:
                data["amounts"][name] = value
        elif value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def errors_of(data):
    with pytest.raises(RecordInvalid) as exc:
        parse_settlement(data)
    return {(e.field, e.code) for e in exc.value.errors}, exc.value.errors


def test_the_spec_example_parses():
    settlement = parse_settlement(GOOD)
    assert settlement.amounts["in_catalog_self_pay"] == __import__("decimal").Decimal("30000.00")
    assert settlement.settled_at.utcoffset().total_seconds() == 8 * 3600


def test_lower_case_x_is_read_as_upper_case():
    assert parse_settlement(record(id_number="11010519491231002x")).id_number == "11010519491231002X"


def test_absent_known_amounts_default_to_zero():
    data = record(amounts={"total": "100.00", "in_catalog_self_pay": "100.00"})
    assert str(parse_settlement(data).amounts["heavy_ion"]) == "0.00"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"settlement_id": ...}, "settlement_id", "required"),
        ({"settlement_id": ""}, "settlement_id", "required"),
        ({"settlement_id": "x" * 65}, "settlement_id", "too_long"),
        ({"settlement_id": 123}, "settlement_id", "invalid_type"),
        ({"id_number": "620602197505201232"}, "id_number", "id_checksum"),
        ({"id_number": "62060219750520123"}, "id_number", "id_length"),
        ({"id_number": "6206021975052012A1"}, "id_number", "id_characters"),
        ({"id_number": "620602197513201231"}, "id_number", "id_birth_date"),
        ({"id_number": 620602197505201231}, "id_number", "invalid_type"),
        ({"name": ...}, "name", "required"),
        ({"hospital_code": ...}, "hospital_code", "required"),
        ({"hospital_name": ""}, "hospital_name", "required"),
        ({"hospital_level": 4}, "hospital_level", "out_of_range"),
        ({"hospital_level": 0}, "hospital_level", "out_of_range"),
        ({"hospital_level": "3"}, "hospital_level", "invalid_type"),
        ({"hospital_level": True}, "hospital_level", "invalid_type"),
        ({"designated": "true"}, "designated", "invalid_type"),
        ({"in_region": 1}, "in_region", "invalid_type"),
        ({"pre_existing": ...}, "pre_existing", "required"),
        ({"visit_type": "emergency"}, "visit_type", "invalid_choice"),
        ({"admission_date": "2025/08/01"}, "admission_date", "invalid_date"),
        ({"admission_date": "2025-02-30"}, "admission_date", "invalid_date"),
        ({"discharge_date": ...}, "discharge_date", "required"),
        ({"discharge_date": "2025-07-31"}, "discharge_date", "before_admission"),
        ({"settled_at": "2025-08-09T10:00:00"}, "settled_at", "timezone_required"),
        ({"settled_at": "yesterday"}, "settled_at", "invalid_datetime"),
        ({"diagnoses": []}, "diagnoses", "required"),
        ({"diagnoses": "I63.9"}, "diagnoses", "invalid_type"),
        ({"diagnoses": ["I63.9", "63.9"]}, "diagnoses[1]", "invalid_icd10"),
        ({"amounts": ...}, "amounts", "required"),
        ({"amounts__total": ...}, "amounts.total", "required"),
        ({"amounts__total": 63000.0}, "amounts.total", "invalid_type"),
        ({"amounts__in_catalog_self_pay": "-1.00"}, "amounts.in_catalog_self_pay", "negative"),
        ({"amounts__out_of_catalog": "1.005"}, "amounts.out_of_catalog", "too_many_places"),
        ({"amounts__heavy_ion": "abc"}, "amounts.heavy_ion", "invalid_amount"),
        ({"amounts__total": "1000.00"}, "amounts.total", "total_too_small"),
        ({"amounts__tip": "1.00"}, "amounts.tip", "unknown_field"),
        ({"pre_exisiting": True}, "pre_exisiting", "unknown_field"),
        ({"drugs": [{"code": "X1"}]}, "drugs[0].amount", "required"),
    ],
)
def test_each_bad_field_is_named_with_a_stable_code(changes, field, code):
    found, errors = errors_of(record(**changes))
    assert (field, code) in found
    message = next(e.message for e in errors if e.field == field)
    assert message.startswith(field) and any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_outpatient_needs_no_discharge_date():
    parse_settlement(record(visit_type="outpatient", discharge_date=...))


def test_every_problem_of_a_record_is_reported_at_once():
    found, _ = errors_of(record(hospital_level=9, designated="yes", amounts__total=...))
    assert {f for f, _ in found} >= {"hospital_level", "designated", "amounts.total"}


def test_a_non_object_is_refused():
    found, _ = errors_of(["not", "a", "record"])
    assert ("", "invalid_type") in found


def test_flatten_row_reads_a_spreadsheet_row_the_same_way():
    row = {
        "settlement_id": "S1", "id_number": "620602197505201231", "name": "张桂兰",
        "hospital_code": "H1", "hospital_name": "武威市人民医院", "hospital_level": "3",
        "designated": "是", "in_region": "true", "visit_type": "inpatient",
        "admission_date": "2025-08-01", "discharge_date": "2025-08-09",
        "settled_at": "2025-08-09T10:00:00+08:00", "diagnoses": "I63.9; C34.1", "pre_existing": "否",
        "total": "63000.00", "in_catalog_self_pay": "30000.00", "out_of_catalog": "", "heavy_ion": "",
    }
    settlement = parse_settlement(flatten_row(row))
    assert settlement.diagnoses == ("I63.9", "C34.1")
    assert settlement.designated is True and settlement.pre_existing is False
    assert settlement.hospital_level == 3


def test_flatten_row_passes_unreadable_values_on_for_validation_to_name():
    row = {**{k: str(v) for k, v in GOOD.items() if k != "amounts" and not isinstance(v, (bool, list))},
           "designated": "maybe", "in_region": "1", "pre_existing": "0", "diagnoses": "I63.9", "total": "1"}
    found, _ = errors_of(flatten_row(row))
    assert ("designated", "invalid_type") in found
