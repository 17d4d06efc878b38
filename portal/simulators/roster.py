"""Importing the simulated registry's roster: CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX.

All or nothing: every row is checked first (ID check digit, status, region, category, flags,
balance); if any row is bad, nothing is written and each bad row is reported by its number and
column. A valid file is upserted by blind index, so a re-import updates people instead of
duplicating them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction

from enrollment import idnumber
from portal import crypto
from portal.simulators.models import RegistryStatus, RosterEntry
from portal.tabular import TableInvalid, read_table

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
COLUMNS = ["姓名", "身份证号", "参保状态", "参保地区码", "险种", "医疗救助对象", "退役军人", "新生儿", "个人账户余额",
           "参保日期", "困难身份", "家庭共济绑定"]
REQUIRED = COLUMNS[:5]
STATUSES = {label: value for value, label in RegistryStatus.choices} | {v: v for v in RegistryStatus.values}
CATEGORIES = {"职工医保": RosterEntry.EMPLOYEE, "城乡居民医保": RosterEntry.RESIDENT,
              RosterEntry.EMPLOYEE: RosterEntry.EMPLOYEE, RosterEntry.RESIDENT: RosterEntry.RESIDENT}
YES = {"是", "true", "1", "y", "yes"}
NO = {"否", "false", "0", "n", "no", ""}
HARDSHIP = {"低保": "dibao", "低保对象": "dibao", "特困": "tekun", "特困人员": "tekun", "防返贫监测": "monitored",
            "防返贫监测对象": "monitored"}
SEPARATORS = re.compile(r"[、,，;；\s]+")
SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")


class RosterInvalid(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("；".join(errors[:5]))


@dataclass
class ImportResult:
    created: int
    updated: int


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    try:
        return read_table(filename, data, required=tuple(REQUIRED), max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    except TableInvalid as exc:
        raise RosterInvalid([exc.message]) from None


def _flag(value: str, row: int, column: str, errors: list[str]) -> bool:
    text = value.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    errors.append(f"第{row}行“{column}”应填写“是”或“否”，当前为“{value}”。")
    return False


def parse(records: list[dict[str, str]]) -> list[RosterEntry]:
    errors: list[str] = []
    entries: dict[str, RosterEntry] = {}
    for index, record in enumerate(records, start=2):  # row 1 is the header
        raw_id = record.get("身份证号", "")
        if SCIENTIFIC.match(raw_id) or re.fullmatch(r"\d{15,17}\.0", raw_id):
            errors.append(f"第{index}行“身份证号”被表格软件转成了数字（{raw_id}），请将该列设为文本格式后重新填写，系统不会猜测缺失的数字。")
            continue
        try:
            parsed = idnumber.parse(raw_id)
        except idnumber.IdNumberError as exc:
            errors.append(f"第{index}行“身份证号”：{exc.message}。")
            continue
        name = record.get("姓名", "").strip()
        if not name or len(name) > 50:
            errors.append(f"第{index}行“姓名”不能为空且不超过50字。")
        status = STATUSES.get(record.get("参保状态", "").strip())
        if status is None:
            errors.append(f"第{index}行“参保状态”应为参保缴费正常、未参保或暂停参保。")
        region = record.get("参保地区码", "").strip()
        if not re.fullmatch(r"\d{6}", region):
            errors.append(f"第{index}行“参保地区码”应为6位数字。")
        category = CATEGORIES.get(record.get("险种", "").strip())
        if category is None:
            errors.append(f"第{index}行“险种”应为职工医保或城乡居民医保。")
        flags = {
            field: _flag(record.get(column, ""), index, column, errors)
            for field, column in (("medical_assistance", "医疗救助对象"), ("veteran", "退役军人"), ("newborn", "新生儿"))
        }
        try:
            balance = Decimal(record.get("个人账户余额", "").strip() or "0").quantize(Decimal("0.01"))
            if balance < 0:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(f"第{index}行“个人账户余额”应为不小于0的金额。")
            balance = Decimal("0.00")
        joined_on = None
        joined_text = record.get("参保日期", "").strip()
        if joined_text:
            try:
                joined_on = date.fromisoformat(joined_text.replace("/", "-")[:10])
            except ValueError:
                errors.append(f"第{index}行“参保日期”应为日期，例如2026-03-15。")
        hardship = []
        for label in SEPARATORS.split(record.get("困难身份", "").strip()):
            if not label:
                continue
            if label not in HARDSHIP:
                errors.append(f"第{index}行“困难身份”只能填写低保对象、特困人员、防返贫监测对象，当前为“{label}”。")
            elif HARDSHIP[label] not in hardship:
                hardship.append(HARDSHIP[label])
        family = []
        for number in SEPARATORS.split(record.get("家庭共济绑定", "").strip()):
            if not number:
                continue
            try:
                family.append(crypto.blind_index(idnumber.parse(number).number))
            except idnumber.IdNumberError as exc:
                errors.append(f"第{index}行“家庭共济绑定”中的证件号码：{exc.message}。")
        digest = crypto.blind_index(parsed.number)
        if digest in entries:
            errors.append(f"第{index}行“身份证号”与前面的行重复。")
            continue
        entries[digest] = RosterEntry(
            id_hash=digest, id_masked=idnumber.mask(parsed.number), name=name, status=status or "",
            insured_region=region, category=category or "", account_balance=balance, joined_on=joined_on,
            hardship=hardship, family_hashes=family, **flags,
        )
    if errors:
        raise RosterInvalid(errors)
    return list(entries.values())


@transaction.atomic
def import_file(filename: str, data: bytes) -> ImportResult:
    entries = parse(read_rows(filename, data))
    existing = set(RosterEntry.objects.filter(id_hash__in=[e.id_hash for e in entries]).values_list("id_hash", flat=True))
    RosterEntry.objects.bulk_create(
        entries,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["id_hash"],
        update_fields=["id_masked", "name", "status", "insured_region", "category", "medical_assistance", "veteran",
                       "newborn", "joined_on", "account_balance", "hardship", "family_hashes", "updated_at"],
    )
    return ImportResult(created=len(entries) - len(existing), updated=len(existing))


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "参保名册"
    sheet.append(COLUMNS)
    sheet.append(["张桂兰", "620602197505201231", "参保缴费正常", "620602", "城乡居民医保", "否", "否", "否", "0.00",
                  "2024-01-01", "", ""])
    for column in ("B", "L"):
        for cell in sheet[column]:
            cell.number_format = "@"  # text, so spreadsheet software keeps all 18 characters
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
