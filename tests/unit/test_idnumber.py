"""The resident ID module: check digit, x for X, birth date, sex, age, region, masking."""

from datetime import date

import pytest

from enrollment import idnumber


def test_a_valid_number_gives_birth_date_sex_and_region():
    parsed = idnumber.parse("620602197505201231")
    assert parsed.birth_date == date(1975, 5, 20)
    assert parsed.sex == "M"
    assert parsed.region_code == "620602"


def test_lower_case_x_is_read_as_upper_case():
    assert idnumber.normalize(" 11010519491231002x ") == "11010519491231002X"
    assert idnumber.parse("11010519491231002X").sex == "F"


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("", "id_required", "请填写"),
        (None, "id_required", "请填写"),
        ("62060219750520123", "id_length", "当前为17位"),
        ("6206021975052012311", "id_length", "当前为19位"),
        ("62060219750520123Y", "id_characters", "最后一位"),
        ("620602197505201232", "id_checksum", "校验位"),
        ("620602197502301231", "id_birth_date", "出生日期"),
        ("990602197505201231", "id_region", "省级"),
        (620602197505201231, "id_characters", "字符串"),
    ],
)
def test_bad_numbers_say_what_is_wrong(value, code, words):
    with pytest.raises(idnumber.IdNumberError) as exc:
        idnumber.parse(value)
    assert exc.value.code == code
    assert words in exc.value.message


def test_a_birth_date_in_the_future_is_refused():
    with pytest.raises(idnumber.IdNumberError) as exc:
        idnumber.parse("620602197505201231", today=date(1975, 5, 19))
    assert exc.value.code == "id_birth_date"


def test_age_is_full_years_on_the_day():
    parsed = idnumber.parse("620602197505201231")
    assert parsed.age_on(date(2025, 5, 19)) == 49
    assert parsed.age_on(date(2025, 5, 20)) == 50


def test_a_leap_day_birthday_is_counted_on_28_february_in_common_years():
    first17 = "11010520000229001"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    number = first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    parsed = idnumber.parse(number)
    assert parsed.age_on(date(2018, 2, 27)) == 17
    assert parsed.age_on(date(2018, 2, 28)) == 18


def test_mask_keeps_the_first_six_and_last_four():
    assert idnumber.mask("620602197505201231") == "620602********1231"
    assert idnumber.mask("11010519491231002x") == "110105********002X"


def test_mask_never_leaks_odd_input():
    assert idnumber.mask(None) == "*" * 18
    assert idnumber.mask("12345") == "*****"
    assert idnumber.mask("") == ""


def test_is_valid():
    assert idnumber.is_valid("620602197505201231")
    assert not idnumber.is_valid("620602197505201230")


# --- Residence permits and the foreigners' permanent-residence ID ----------------------------------


@pytest.mark.parametrize(
    ("number", "kind", "cert_type", "region", "born", "sex"),
    [
        ("620602197505201231", idnumber.RESIDENT, "01", "620602", date(1975, 5, 20), "M"),
        ("810000199001010019", idnumber.HK_MACAO_PERMIT, "17", "810000", date(1990, 1, 1), "M"),
        ("830000199201300022", idnumber.TAIWAN_PERMIT, "17", "830000", date(1992, 1, 30), "F"),
        # 9, issued in Shandong (37), nationality 840, born 1990-01-01, sequence 00, sex 1, check 7.
        ("937840199001010017", idnumber.FOREIGN_PERMANENT, "07", "370000", date(1990, 1, 1), "M"),
    ],
)
def test_each_kind_of_number_is_read_with_its_document_type(number, kind, cert_type, region, born, sex):
    parsed = idnumber.parse(number)
    assert (parsed.kind, parsed.cert_type, parsed.region_code, parsed.birth_date, parsed.sex) == (
        kind, cert_type, region, born, sex)
    assert idnumber.cert_type(number) == cert_type


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("830000199201300023", "id_checksum"),  # Taiwan permit, wrong check digit
        ("830100199201300022", "id_region"),  # a permit's address code is exactly 830000
        ("937840199001010018", "id_checksum"),
        ("971840199001010017", "id_region"),  # 71 is not a province that issues the card
        ("937156199001010017", "id_nationality"),  # 156 is China
        ("937840199002300017", "id_birth_date"),
        ("710000199001010010", "id_region"),  # no resident card starts with 71
    ],
)
def test_each_kind_has_its_own_check(value, code):
    with pytest.raises(idnumber.IdNumberError) as exc:
        idnumber.parse(value)
    assert exc.value.code == code


def test_the_permits_and_the_foreigners_card_are_masked_like_the_resident_card():
    assert idnumber.mask("937840199001010017") == "937840********0017"
    assert idnumber.mask("830000199201300022") == "830000********0022"
