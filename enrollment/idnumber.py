"""The 18-character resident identity number (GB 11643-1999), the one module for it.

``parse`` checks the length and characters, the check digit (python-stdnum's ISO 7064 MOD 11-2),
the birth date, and returns the birth date, sex and region code; ``x`` is read as ``X``. Errors
carry a stable ``code`` and a Chinese ``message`` naming what is wrong. ``mask`` shows the first 6
and last 4 characters only: it is what every page, admin list and log line shows.

Region codes are not checked against a table: administrative codes change (Wuwei's 凉州区 is
620602 since 2001, unknown to stdnum's table), and the registry, not this module, says where a
person is insured. The first two digits must still be a province (11–82).

Age: full years on a given day; someone born on 29 February has a birthday on 28 February in
common years (the Chinese civil-law practice of counting the day before).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric

PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
}  # fmt: skip


class IdNumberError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IdNumber:
    number: str
    region_code: str
    birth_date: date
    sex: str  # "M" or "F"

    def age_on(self, day: date) -> int:
        born = self.birth_date
        years = day.year - born.year
        birthday = (born.month, born.day)
        if birthday == (2, 29) and not _leap(day.year):
            birthday = (2, 28)
        if (day.month, day.day) < birthday:
            years -= 1
        return years

    @property
    def masked(self) -> str:
        return mask(self.number)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def normalize(value) -> str:
    """The number as stored: 18 characters, upper-case ``X``; raises ``IdNumberError``."""
    return parse(value).number


def parse(value, *, today: date | None = None) -> IdNumber:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise IdNumberError("id_required", "请填写身份证号")
    if not isinstance(value, str):
        raise IdNumberError("id_characters", "身份证号应为18位字符串（数字，最后一位可为X）")
    number = value.strip().replace(" ", "").upper()
    if len(number) != 18:
        raise IdNumberError("id_length", f"身份证号应为18位，当前为{len(number)}位")
    if not PATTERN.match(number):
        raise IdNumberError("id_characters", "身份证号前17位应为数字，最后一位为数字或X")
    if number[:2] not in PROVINCES:
        raise IdNumberError("id_region", "身份证号前两位不是有效的省级行政区划代码")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("id_birth_date", "身份证号中的出生日期无效") from None
    if born.year < 1900 or born > (today or date.today()):
        raise IdNumberError("id_birth_date", "身份证号中的出生日期无效")
    if ric.calc_check_digit(number) != number[-1]:
        raise IdNumberError("id_checksum", "身份证号校验位错误，请核对后重新输入")
    return IdNumber(number=number, region_code=number[:6], birth_date=born, sex="M" if int(number[16]) % 2 else "F")


def is_valid(value) -> bool:
    try:
        parse(value)
    except IdNumberError:
        return False
    return True


def mask(value) -> str:
    """First 6 and last 4 characters; anything that is not an 18-character number is hidden whole."""
    if not isinstance(value, str):
        return "*" * 18
    text = value.strip().upper()
    if len(text) != 18:
        return "*" * len(text) if text else ""
    return f"{text[:6]}********{text[-4:]}"
