# TEMPORARY placeholder by the lead; helper-1 replaces this file.
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric


class IdNumberError(ValueError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def normalize(value):
    if not isinstance(value, str) or not value.strip():
        raise IdNumberError("id_required", "请填写身份证号")
    v = value.strip().upper()
    if not ric.is_valid(v):
        raise IdNumberError("id_checksum", "身份证号无效")
    return v


@dataclass(frozen=True)
class IdNumber:
    number: str
    region_code: str
    birth_date: date
    sex: str


def parse(value):
    v = normalize(value)
    return IdNumber(v, v[:6], ric.get_birth_date(v), "M" if int(v[16]) % 2 else "F")


def mask(value):
    return f"{value[:6]}********{value[-4:]}"
