"""Uploaded tables are bounded before and while they are read (portal/tabular.py, shared by the
beneficiary lists, the roster import and the staff imports): a crafted file is refused with one
Chinese sentence, quickly, without being inflated or parsed whole."""

import time

import pytest

from portal import tabular
from tests.bombs import crafted_xlsx, inflating_xlsx, shared_strings_xlsx

REQUIRED = ("姓名", "身份证号")


def read(name, data, max_rows=1000):
    return tabular.read_table(name, data, required=REQUIRED, max_rows=max_rows, max_bytes=20 * 1024 * 1024)


def test_a_zip_bomb_is_refused_by_its_declared_size_before_anything_is_inflated():
    bomb = inflating_xlsx(inflated=80 * 1024 * 1024)
    assert len(bomb) < 2 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(tabular.TableInvalid, match="解压后超过64MB"):
        read("名单.xlsx", bomb)
    assert time.monotonic() - started < 2


def test_a_sheet_declaring_a_million_rows_is_refused_before_its_rows_are_read():
    # openpyxl pads every row up to the declared size: 1,048,576 rows of 16,384 empty cells.
    with pytest.raises(tabular.TableInvalid, match="声明的范围超过1000行或64列"):
        read("名单.xlsx", crafted_xlsx(dimension="A1:XFD1048576", rows=3))
    with pytest.raises(tabular.TableInvalid, match="声明的范围"):
        read("名单.xlsx", crafted_xlsx(dimension="A1:B200000", rows=3))


def test_a_workbook_carrying_more_shared_strings_than_its_rows_could_use_is_refused_before_reading_them():
    with pytest.raises(tabular.TableInvalid, match="行数超过1000行"):
        read("名单.xlsx", shared_strings_xlsx(count=20_000))  # by the part's declared size
    with pytest.raises(tabular.TableInvalid, match="行数超过100行"):
        read("名单.xlsx", shared_strings_xlsx(count=2_000), max_rows=100)  # by counting them


def test_a_sheet_that_understates_its_size_is_read_to_its_real_rows_and_stopped_at_the_limit():
    with pytest.raises(tabular.TableInvalid, match="行数超过1000行"):
        read("名单.xlsx", crafted_xlsx(dimension="A1:B2", rows=1500))
    rows = read("名单.xlsx", crafted_xlsx(dimension="A1:B2", rows=5))
    assert len(rows) == 5 and rows[4] == {"姓名": "某某", "身份证号": "620602197505201231"}


def test_the_rows_within_the_limit_are_read_and_empty_rows_skipped():
    assert len(read("名单.xlsx", crafted_xlsx(dimension="A1:B1001", rows=1000))) == 1000
    csv = ("姓名,身份证号\n" + "张三,620602197505201231\n" * 1000).encode()
    assert len(read("名单.csv", csv)) == 1000


def test_a_csv_stops_at_the_limit_and_a_broken_one_is_refused_not_raised():
    with pytest.raises(tabular.TableInvalid, match="行数超过1000行"):
        read("名单.csv", ("姓名,身份证号\n" + "张三,620602197505201231\n" * 200_000).encode())
    with pytest.raises(tabular.TableInvalid, match="无法读取该 CSV"):
        read("名单.csv", ("姓名,身份证号\n张三,\"" + "x" * 200_000 + "\"\n").encode())  # over csv's field limit


def test_a_file_that_is_not_a_workbook_is_refused():
    for data in (b"PK\x03\x04 broken", b"", crafted_xlsx(dimension=None, rows=1)[:-40]):
        with pytest.raises(tabular.TableInvalid, match="无法读取该 XLSX"):
            read("名单.xlsx", data)
