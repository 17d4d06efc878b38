"""The 18-character identity numbers a person is insured under, the one module for them.

Four kinds, told apart by their first characters, each with its own check:

- the resident identity card (居民身份证, GB 11643-1999): a province code (11–65), the birth date,
  sequence, sex digit and the ISO 7064 MOD 11-2 check digit (python-stdnum);
- the residence permits for Hong Kong and Macao residents (港澳居民居住证, ``810000`` / ``820000``)
  and for Taiwan residents (台湾居民居住证, ``830000``): the same layout as the resident card with
  exactly that address code (GB 11643 numbering, 《港澳台居民居住证申领发放办法》 2018);
- the foreigners' permanent-residence ID card, 2023 format (外国人永久居留身份证): ``9``, the
  issuing province (2 digits), the nationality (3 digits, ISO 3166-1 numeric, never 156 China),
  the birth date (8), a sequence (2), the sex digit and the MOD 11-2 check digit. (The 15-character
  card of 2017 is not accepted: the registry files its holders under the new number.)

``parse`` returns the birth date, sex, a region code and ``cert_type``, the 医疗保障信息平台's
``psn_cert_type`` (dictionary 7.13: ``01`` 居民身份证（户口簿）, ``17`` 港澳台居民居住证, ``07``
外国人永久居留证) that the registry adapter sends with the number. ``x`` is read as ``X``. Errors
carry a stable ``code`` and a Chinese ``message`` naming what is wrong. ``mask`` shows the first 6
and last 4 characters only: it is what every page, admin list and log line shows.

Region codes are not checked against a table: administrative codes change (Wuwei's 凉州区 is
620602 since 2001, unknown to stdnum's table), and the registry, not this module, says where a
person is insured. The first two digits of a resident card must still be a mainland province; a
foreigner's region code is the issuing province's (``370000``), a permit's ``810000``/``820000``/
``830000``.

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
    "65",
}  # fmt: skip

# Kinds, with the registry's document-type code (医保 psn_cert_type).
RESIDENT, HK_MACAO_PERMIT, TAIWAN_PERMIT, FOREIGN_PERMANENT = "resident", "hk_macao_permit", "taiwan_permit", "foreign"
CERT_TYPES = {RESIDENT: "01", HK_MACAO_PERMIT: "17", TAIWAN_PERMIT: "17", FOREIGN_PERMANENT: "07"}
KIND_LABELS = {
    RESIDENT: "居民身份证",
    HK_MACAO_PERMIT: "港澳居民居住证",
    TAIWAN_PERMIT: "台湾居民居住证",
    FOREIGN_PERMANENT: "外国人永久居留身份证",
}
PERMITS = {"810000": HK_MACAO_PERMIT, "820000": HK_MACAO_PERMIT, "830000": TAIWAN_PERMIT}
CHINA = "156"


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
    kind: str = RESIDENT

    @property
    def cert_type(self) -> str:
        """The registry's document-type code (医保 psn_cert_type)."""
        return CERT_TYPES[self.kind]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

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
    if number[0] == "9":
        kind, birth = FOREIGN_PERMANENT, number[6:14]
        if number[1:3] not in PROVINCES:
            raise IdNumberError("id_region", "外国人永久居留身份证第2、3位不是有效的省级行政区划代码")
        if number[3:6] in ("000", CHINA):
            raise IdNumberError("id_nationality", "外国人永久居留身份证第4至6位不是有效的国籍代码")
        region = number[1:3] + "0000"
    elif number[:2] in ("81", "82", "83"):
        kind, birth, region = PERMITS.get(number[:6]), number[6:14], number[:6]
        if kind is None:
            raise IdNumberError("id_region", "港澳台居民居住证号码前6位应为810000（香港）、820000（澳门）或830000（台湾）")
    elif number[:2] in PROVINCES:
        kind, birth, region = RESIDENT, number[6:14], number[:6]
    else:
        raise IdNumberError("id_region", "身份证号前两位不是有效的省级行政区划代码")
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        raise IdNumberError("id_birth_date", f"{KIND_LABELS[kind]}号码中的出生日期无效") from None
    if born.year < 1900 or born > (today or date.today()):
        raise IdNumberError("id_birth_date", f"{KIND_LABELS[kind]}号码中的出生日期无效")
    if ric.calc_check_digit(number) != number[-1]:
        raise IdNumberError("id_checksum", f"{KIND_LABELS[kind]}号码校验位错误，请核对后重新输入")
    return IdNumber(number=number, region_code=region, birth_date=born, sex="M" if int(number[16]) % 2 else "F",
                    kind=kind)


def cert_type(value) -> str:
    """The registry's document-type code for a number (raises ``IdNumberError`` when invalid)."""
    return parse(value).cert_type


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
