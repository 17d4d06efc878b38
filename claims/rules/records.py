"""Validation of one settlement record (``../shared/spec/settlement-record.md``).

One function, ``parse_settlement``, used by ``manage.py adjudicate``, the intake API and the staff
import: it returns the engine's ``Settlement`` or raises ``RecordInvalid`` with every problem of the
record, each naming the field (a dotted path such as ``amounts.total`` or ``diagnoses[1]``), a
stable code and a Chinese message.

Readings written down:
- ``amounts.total`` is required; the other known amounts default to 0.00 when absent. Amounts are
  decimal strings (a JSON number is refused: money never passes through a float).
- Unknown keys are refused, at the top level as in ``amounts``: a misspelt ``pre_existing`` must not
  silently default.
- ``drugs`` (optional) is this project's extension for a drug-list responsibility (Weihai's
  specific and innovative drugs): ``[{"code": "...", "name": "...", "amount": "..."}]``. The items
  are part of what the patient bore: their sum may not exceed ``total`` less the three public
  funds' payments (``drugs_exceed_own_part``).
- ``reverses`` (optional) names the ``settlement_id`` this record corrects (冲正/重结算).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from claims.rules.model import DrugItem, Settlement
from enrollment import idnumber

AMOUNT_KEYS = (
    "total",
    "base_fund_paid",
    "critical_illness_paid",
    "medical_assistance_paid",
    "in_catalog_self_pay",
    "out_of_catalog",
    "heavy_ion",
)
FUND_KEYS = ("base_fund_paid", "critical_illness_paid", "medical_assistance_paid")
REQUIRED = (
    "settlement_id",
    "id_number",
    "name",
    "hospital_code",
    "hospital_name",
    "hospital_level",
    "designated",
    "in_region",
    "visit_type",
    "admission_date",
    "settled_at",
    "diagnoses",
    "pre_existing",
    "amounts",
)
OPTIONAL = ("discharge_date", "reverses", "drugs")
KNOWN = frozenset(REQUIRED + OPTIONAL)
VISIT_TYPES = ("inpatient", "outpatient")
ICD10 = re.compile(r"^[A-Za-z][0-9]{2}(\.[0-9A-Za-z]{1,8})?$")
MONEY_PATTERN = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
MAX_AMOUNT = Decimal("9999999999.99")

LABELS = {
    "settlement_id": "结算单号",
    "id_number": "身份证号",
    "name": "姓名",
    "hospital_code": "医院编码",
    "hospital_name": "医院名称",
    "hospital_level": "医院等级",
    "designated": "是否医保定点",
    "in_region": "是否市域内",
    "visit_type": "就诊类型",
    "admission_date": "入院（就诊）日期",
    "discharge_date": "出院日期",
    "settled_at": "结算时间",
    "diagnoses": "诊断",
    "pre_existing": "是否既往症",
    "amounts": "金额",
    "reverses": "冲正的原结算单号",
    "drugs": "药品明细",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


class RecordInvalid(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("；".join(f"{e.field}：{e.message}" for e in errors))


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.items.append(FieldError(field, code, f"{field}（{_label(field)}）：{message}"))


def _label(field: str) -> str:
    root = field.split(".")[0].split("[")[0]
    if field.startswith("amounts."):
        return f"金额 {field.split('.', 1)[1]}"
    return LABELS.get(root, root)


def _string(data, key, errors: _Errors, *, max_length: int = 200, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            errors.add(key, "required", "缺少此字段")
        return None
    if not isinstance(value, str):
        errors.add(key, "invalid_type", "应为字符串")
        return None
    value = value.strip()
    if not value:
        errors.add(key, "required", "不能为空")
        return None
    if len(value) > max_length:
        errors.add(key, "too_long", f"长度不能超过{max_length}个字符")
        return None
    return value


def _boolean(data, key, errors: _Errors) -> bool | None:
    value = data.get(key)
    if value is None:
        errors.add(key, "required", "缺少此字段")
        return None
    if not isinstance(value, bool):
        errors.add(key, "invalid_type", "应为 true 或 false")
        return None
    return value


def _date(data, key, errors: _Errors, *, required: bool = True) -> date | None:
    value = data.get(key)
    if value is None:
        if required:
            errors.add(key, "required", "缺少此字段")
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        errors.add(key, "invalid_date", "应为日期 YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(key, "invalid_date", f"日期“{value}”不存在")
        return None


def _money(value, field: str, errors: _Errors) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str):
        errors.add(field, "invalid_type", "金额应为字符串形式的十进制数，例如 \"1234.50\"")
        return None
    text = value.strip()
    if text.startswith("-"):
        errors.add(field, "negative", "金额不能为负数")
        return None
    if not MONEY_PATTERN.fullmatch(text):
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text):
            errors.add(field, "too_many_places", "金额最多两位小数")
        else:
            errors.add(field, "invalid_amount", f"“{value}”不是有效金额")
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        errors.add(field, "invalid_amount", f"“{value}”不是有效金额")
        return None
    if amount > MAX_AMOUNT:
        errors.add(field, "out_of_range", "金额过大")
        return None
    return amount.quantize(Decimal("0.01"))


def parse_settlement(data: Mapping) -> Settlement:
    """Validate one record and return it parsed; raise ``RecordInvalid`` listing every problem."""
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise RecordInvalid([FieldError("", "invalid_type", "结算单应为 JSON 对象")])
    for key in sorted(set(data) - KNOWN):
        errors.add(str(key), "unknown_field", "未知字段")

    settlement_id = _string(data, "settlement_id", errors, max_length=64)
    number = None
    raw_id = data.get("id_number")
    if raw_id is None:
        errors.add("id_number", "required", "缺少此字段")
    elif not isinstance(raw_id, str):
        errors.add("id_number", "invalid_type", "应为字符串（18位身份证号）")
    else:
        try:
            number = idnumber.normalize(raw_id)
        except idnumber.IdNumberError as exc:
            errors.add("id_number", exc.code, exc.message)
    name = _string(data, "name", errors, max_length=50)
    hospital_code = _string(data, "hospital_code", errors, max_length=64)
    hospital_name = _string(data, "hospital_name", errors, max_length=200)

    level = data.get("hospital_level")
    if level is None:
        errors.add("hospital_level", "required", "缺少此字段")
    elif isinstance(level, bool) or not isinstance(level, int):
        errors.add("hospital_level", "invalid_type", "应为整数 1、2 或 3")
        level = None
    elif not 1 <= level <= 3:
        errors.add("hospital_level", "out_of_range", "应为 1（一级）、2（二级）或 3（三级）")
        level = None

    designated = _boolean(data, "designated", errors)
    in_region = _boolean(data, "in_region", errors)
    pre_existing = _boolean(data, "pre_existing", errors)

    visit_type = data.get("visit_type")
    if visit_type is None:
        errors.add("visit_type", "required", "缺少此字段")
    elif visit_type not in VISIT_TYPES:
        errors.add("visit_type", "invalid_choice", "应为 inpatient（住院）或 outpatient（门诊）")
        visit_type = None

    admission = _date(data, "admission_date", errors)
    discharge = _date(data, "discharge_date", errors, required=False)
    if visit_type == "inpatient" and data.get("discharge_date") is None:
        errors.add("discharge_date", "required", "住院结算须填写出院日期")
    if admission and discharge and discharge < admission:
        errors.add("discharge_date", "before_admission", "出院日期早于入院日期")

    settled_at = None
    raw = data.get("settled_at")
    if raw is None:
        errors.add("settled_at", "required", "缺少此字段")
    elif not isinstance(raw, str):
        errors.add("settled_at", "invalid_datetime", "应为带时区的日期时间，例如 2025-08-09T10:00:00+08:00")
    else:
        try:
            settled_at = datetime.fromisoformat(raw)
        except ValueError:
            errors.add("settled_at", "invalid_datetime", "应为带时区的日期时间，例如 2025-08-09T10:00:00+08:00")
        else:
            if settled_at.tzinfo is None or "T" not in raw:
                errors.add("settled_at", "timezone_required", "须带时区偏移，例如 +08:00")
                settled_at = None

    diagnoses: tuple[str, ...] = ()
    raw = data.get("diagnoses")
    if raw is None:
        errors.add("diagnoses", "required", "缺少此字段")
    elif not isinstance(raw, list):
        errors.add("diagnoses", "invalid_type", "应为 ICD-10 编码数组")
    elif not raw:
        errors.add("diagnoses", "required", "至少需要一个诊断编码")
    else:
        good = []
        for index, code in enumerate(raw):
            if not isinstance(code, str) or not ICD10.fullmatch(code.strip()):
                errors.add(f"diagnoses[{index}]", "invalid_icd10", f"“{code}”不是有效的 ICD-10 编码")
            else:
                good.append(code.strip().upper())
        diagnoses = tuple(good)

    amounts: dict[str, Decimal] = {}
    raw = data.get("amounts")
    if raw is None:
        errors.add("amounts", "required", "缺少此字段")
    elif not isinstance(raw, Mapping):
        errors.add("amounts", "invalid_type", "应为金额对象")
    else:
        for key in sorted(set(raw) - set(AMOUNT_KEYS)):
            errors.add(f"amounts.{key}", "unknown_field", "未知金额项")
        if "total" not in raw:
            errors.add("amounts.total", "required", "缺少总金额")
        valid = True
        for key in AMOUNT_KEYS:
            if key in raw:
                value = _money(raw[key], f"amounts.{key}", errors)
                if value is None:
                    valid = False
                else:
                    amounts[key] = value
            elif key != "total":
                amounts[key] = Decimal("0.00")
        if valid and "total" in amounts:
            parts = sum((v for k, v in amounts.items() if k != "total"), Decimal("0.00"))
            if amounts["total"] < parts:
                errors.add("amounts.total", "total_too_small", f"总金额{amounts['total']}小于各分项之和{parts}")

    reverses = _string(data, "reverses", errors, max_length=64, required=False)

    drugs: list[DrugItem] = []
    raw = data.get("drugs")
    if raw is not None:
        if not isinstance(raw, list):
            errors.add("drugs", "invalid_type", "应为药品明细数组")
        else:
            for index, item in enumerate(raw):
                where = f"drugs[{index}]"
                if not isinstance(item, Mapping):
                    errors.add(where, "invalid_type", "应为对象 {code, name, amount}")
                    continue
                for key in sorted(set(item) - {"code", "name", "amount"}):
                    errors.add(f"{where}.{key}", "unknown_field", "未知字段")
                code = item.get("code")
                if not isinstance(code, str) or not code.strip():
                    errors.add(f"{where}.code", "required", "缺少药品编码")
                amount = _money(item.get("amount"), f"{where}.amount", errors) if "amount" in item else None
                if "amount" not in item:
                    errors.add(f"{where}.amount", "required", "缺少金额")
                if isinstance(code, str) and code.strip() and amount is not None:
                    drugs.append(DrugItem(code=code.strip().upper(), amount=amount, name=str(item.get("name", ""))))

    if drugs and valid_amounts(amounts):
        bore = amounts["total"] - sum((amounts[k] for k in FUND_KEYS), Decimal("0.00"))
        listed = sum((d.amount for d in drugs), Decimal("0.00"))
        if listed > bore:
            errors.add("drugs", "drugs_exceed_own_part",
                       f"药品明细合计{listed}超过本次结算个人负担部分{bore}（总金额减基本医保、大病保险、医疗救助支付）")

    if errors.items:
        raise RecordInvalid(errors.items)
    return Settlement(
        settlement_id=settlement_id,
        id_number=number,
        name=name,
        hospital_code=hospital_code,
        hospital_name=hospital_name,
        hospital_level=level,
        designated=designated,
        in_region=in_region,
        visit_type=visit_type,
        admission_date=admission,
        discharge_date=discharge,
        settled_at=settled_at,
        diagnoses=diagnoses,
        pre_existing=pre_existing,
        amounts=amounts,
        drugs=tuple(drugs),
        reverses=reverses,
    )


def valid_amounts(amounts: Mapping) -> bool:
    return "total" in amounts and all(k in amounts for k in FUND_KEYS)


TRUE_WORDS = {"true", "1", "是", "y", "yes"}
FALSE_WORDS = {"false", "0", "否", "n", "no"}


def flatten_row(row: Mapping[str, str]) -> dict:
    """A CSV/XLSX row (one column per field, ``amounts.x`` flattened as ``x``, ``diagnoses``
    separated by ``;``) in the JSON shape, so that ``parse_settlement`` validates it the same way.
    Empty cells are absent; a value that cannot be read as its type is passed on as text, so the
    validation names it."""
    record: dict = {}
    amounts: dict = {}
    for key, value in row.items():
        if key is None:
            continue
        key = str(key).strip()
        text = "" if value is None else str(value).strip()
        if not key or not text:
            continue
        if key in AMOUNT_KEYS:
            amounts[key] = text
        elif key in ("designated", "in_region", "pre_existing"):
            lowered = text.lower()
            record[key] = True if lowered in TRUE_WORDS else False if lowered in FALSE_WORDS else text
        elif key == "hospital_level":
            record[key] = int(text) if text.isdigit() else text
        elif key == "diagnoses":
            record[key] = [code.strip() for code in re.split(r"[;；]", text) if code.strip()]
        else:
            record[key] = text
    record["amounts"] = amounts
    return record
