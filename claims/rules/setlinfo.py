"""The 医疗保障信息平台's settlement record (``setlinfo``) mapped onto this project's settlement
record (settlement-record.md), so the engine sees one shape. Pure Python, no Django.

``to_record(setlinfo)`` validates a platform record field by field and returns the equivalent
record for ``claims.rules.records.parse_settlement``; every problem is reported at once as a
``RecordInvalid`` whose fields are the platform's (``setlinfo.medfee_sumamt``), with a stable code
and a Chinese message. README "The medical-insurance platform" has the table of fields.

How the engine's amounts are derived (the public specification names the fields; how a
commercial insurer reads them is the bureau's extension — our choices, here alone):

- ``total`` = ``medfee_sumamt`` (医疗费总额);
- ``critical_illness_paid`` = ``hifmi_pay`` (居民大病保险); ``medical_assistance_paid`` = ``maf_pay``;
- ``base_fund_paid`` = every other fund: ``hifp_pay`` + ``cvlserv_pay`` + ``hifes_pay`` +
  ``hifob_pay`` + ``oth_pay`` (= ``fund_pay_sumamt`` − ``hifmi_pay`` − ``maf_pay``);
- ``out_of_catalog`` = ``fulamt_ownpay_amt`` (全自费) + ``overlmt_selfpay`` (超限价) − ``hvy_ion_amt``:
  both are outside the policy scope;
- ``heavy_ion`` = ``hvy_ion_amt`` (extension: the part of 全自费 spent on proton / heavy-ion therapy;
  0 when absent);
- ``in_catalog_self_pay`` = ``psn_part_amt`` (个人负担总金额) − ``fulamt_ownpay_amt`` − ``overlmt_selfpay``:
  the patient's own part inside the scope (先行自付 ``preselfpay_amt``, 起付线, 按比例自付).

Consistency demanded (else the field named is refused ``inconsistent``): ``fund_pay_sumamt`` is the
sum of the funds; ``medfee_sumamt`` = ``fund_pay_sumamt`` + ``psn_part_amt``; ``inscp_scp_amt`` =
``medfee_sumamt`` − ``fulamt_ownpay_amt`` − ``overlmt_selfpay`` − ``preselfpay_amt``; the patient's
part covers 全自费 and 超限价; ``hvy_ion_amt`` ≤ ``fulamt_ownpay_amt``.

Other fields: ``med_type`` gives the visit type (``INPATIENT_MED_TYPES`` / ``OUTPATIENT_MED_TYPES``;
others are refused); ``hosp_lv`` the level (``HOSP_LV``); ``begndate`` / ``enddate`` the stay;
``setl_time`` (Asia/Shanghai) the settlement time; ``diseinfo[].diag_code`` the diagnoses; a
record from the platform comes from a 定点 institution (``designated``); 市域内 (``in_region``) means
the 就医地 ``mdtrtarea_admvs`` is in the same city (first four digits) as the 参保地
``insuplc_admdvs``; ``pre_existing`` is not known to the platform: false, staff correct it in
review. The drug list (``drugs``) is not taken from this format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from claims.rules.records import FieldError, RecordInvalid

PREFIX = "setlinfo."
ZERO = Decimal("0.00")
INPATIENT_MED_TYPES = {"21": "普通住院", "22": "外伤住院", "23": "转外诊治住院", "24": "急诊转住院", "52": "生育住院"}
OUTPATIENT_MED_TYPES = {"11": "普通门诊", "12": "门诊挂号", "13": "急诊", "14": "门诊慢特病", "41": "定点药店购药",
                        "51": "生育门诊"}
# hosp_lv 医院等级 -> 1/2/3 (11 无等级 is read as 一级: our choice)
HOSP_LV = {"01": 3, "02": 3, "03": 3, "04": 3, "05": 2, "06": 2, "07": 2, "08": 1, "09": 1, "10": 1, "11": 1}
FUNDS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
REQUIRED_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                    "hifp_pay", "hifmi_pay", "maf_pay", "fund_pay_sumamt", "psn_part_amt")
OPTIONAL_AMOUNTS = ("cvlserv_pay", "hifes_pay", "hifob_pay", "oth_pay", "act_pay_dedc", "pool_prop_selfpay", "acct_pay",
                    "psn_cash_pay", "hosp_part_amt", "balc", "acct_mulaid_pay", "hvy_ion_amt")
REQUIRED_TEXT = ("setl_id", "mdtrt_id", "psn_no", "psn_name", "psn_cert_type", "certno", "med_type", "setl_time",
                 "begndate", "fixmedins_code", "fixmedins_name", "hosp_lv", "insuplc_admdvs", "mdtrtarea_admvs")
OPTIONAL_TEXT = ("enddate", "insutype", "psn_type", "gend", "brdy", "age", "naty", "clr_optins", "clr_way", "clr_type",
                 "medins_setl_id", "mdtrt_cert_type", "setl_type", "cvlserv_flag", "emp_name")
KNOWN = frozenset(REQUIRED_AMOUNTS + OPTIONAL_AMOUNTS + REQUIRED_TEXT + OPTIONAL_TEXT + ("diseinfo",))
LABELS = {
    "setl_id": "结算ID", "mdtrt_id": "就诊ID", "psn_no": "人员编号", "psn_name": "人员姓名", "psn_cert_type": "人员证件类型",
    "certno": "证件号码", "med_type": "医疗类别", "setl_time": "结算时间", "begndate": "开始日期", "enddate": "结束日期",
    "fixmedins_code": "定点医药机构编号", "fixmedins_name": "定点医药机构名称", "hosp_lv": "医院等级",
    "insuplc_admdvs": "参保地医保区划", "mdtrtarea_admvs": "就医地医保区划", "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费金额", "overlmt_selfpay": "超限价自费费用", "preselfpay_amt": "先行自付金额",
    "inscp_scp_amt": "符合政策范围金额", "hifp_pay": "基本医疗保险统筹基金支出", "cvlserv_pay": "公务员医疗补助资金支出",
    "hifes_pay": "补充医疗保险基金支出", "hifmi_pay": "居民大病保险资金支出", "hifob_pay": "职工大额医疗费用补助基金支出",
    "maf_pay": "医疗救助基金支出", "oth_pay": "其他支出", "fund_pay_sumamt": "基金支付总额", "psn_part_amt": "个人负担总金额",
    "hvy_ion_amt": "质子重离子治疗自费金额（扩展）", "diseinfo": "诊断信息",
}
AMOUNT = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
REGION = re.compile(r"^[0-9]{6}$")


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, code: str, message: str) -> None:
        root = field.split("[")[0]
        self.items.append(FieldError(PREFIX + field, code, f"{PREFIX}{field}（{LABELS.get(root, root)}）：{message}"))


def _text(data: Mapping, key: str, errors: _Errors, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            errors.add(key, "required", "缺少此字段")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.add(key, "invalid_type", "应为字符串")
        return None
    return str(value).strip()


def _amount(data: Mapping, key: str, errors: _Errors, *, required: bool) -> Decimal | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            errors.add(key, "required", "缺少此字段")
            return None
        return ZERO
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        errors.add(key, "invalid_type", "金额应为十进制数（字符串或整数），不能是浮点数")
        return None
    text = str(value).strip()
    if text.startswith("-"):
        errors.add(key, "negative", "金额不能为负数（退费请以2208结算撤销发送）")
        return None
    if not AMOUNT.fullmatch(text):
        errors.add(key, "invalid_amount", f"“{value}”不是最多两位小数的金额")
        return None
    try:
        return Decimal(text).quantize(ZERO)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        errors.add(key, "invalid_amount", f"“{value}”不是有效金额")
        return None


def _day(text: str | None, key: str, errors: _Errors) -> str | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date().isoformat()
    except ValueError:
        errors.add(key, "invalid_date", "应为日期 yyyy-MM-dd（可带时间）")
        return None


def to_record(data: Mapping) -> dict:
    """The settlement record (settlement-record.md shape) for one platform ``setlinfo`` item."""
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise RecordInvalid([FieldError("setlinfo", "invalid_type", "setlinfo：结算信息应为 JSON 对象")])
    for key in sorted(set(data) - KNOWN, key=str):
        errors.add(str(key), "unknown_field", "未知字段")
    text = {key: _text(data, key, errors, required=True) for key in REQUIRED_TEXT}
    text |= {key: _text(data, key, errors, required=False) for key in OPTIONAL_TEXT}
    money = {key: _amount(data, key, errors, required=True) for key in REQUIRED_AMOUNTS}
    money |= {key: _amount(data, key, errors, required=False) for key in OPTIONAL_AMOUNTS}

    visit_type = None
    if text["med_type"] is not None:
        if text["med_type"] in INPATIENT_MED_TYPES:
            visit_type = "inpatient"
        elif text["med_type"] in OUTPATIENT_MED_TYPES:
            visit_type = "outpatient"
        else:
            errors.add("med_type", "unknown_med_type", f"医疗类别“{text['med_type']}”不在可理赔的门诊、住院类别内")
    level = None
    if text["hosp_lv"] is not None:
        level = HOSP_LV.get(text["hosp_lv"].zfill(2))
        if level is None:
            errors.add("hosp_lv", "invalid_choice", f"医院等级“{text['hosp_lv']}”不在代码表内（01–11）")
    for key in ("insuplc_admdvs", "mdtrtarea_admvs"):
        if text[key] is not None and not REGION.fullmatch(text[key]):
            errors.add(key, "invalid_region", "应为6位医保区划代码")
    admission = _day(text["begndate"], "begndate", errors)
    discharge = _day(text["enddate"], "enddate", errors)
    if visit_type == "inpatient" and text["enddate"] is None:
        errors.add("enddate", "required", "住院结算须填写结束（出院）日期")
    settled_at = None
    if text["setl_time"] is not None:
        try:
            settled_at = datetime.strptime(text["setl_time"], "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%dT%H:%M:%S+08:00")
        except ValueError:
            errors.add("setl_time", "invalid_datetime", "应为 yyyy-MM-dd HH:mm:ss（北京时间）")

    diagnoses = []
    raw = data.get("diseinfo")
    if not isinstance(raw, list) or not raw:
        errors.add("diseinfo", "required", "至少需要一条诊断（diag_code）")
    else:
        for index, item in enumerate(raw):
            code = item.get("diag_code") if isinstance(item, Mapping) else None
            if not isinstance(code, str) or not code.strip():
                errors.add(f"diseinfo[{index}].diag_code", "required", "缺少诊断代码")
            else:
                diagnoses.append(code.strip())

    amounts = None
    if all(value is not None for value in money.values()):
        m = money
        funds = sum((m[k] for k in FUNDS), ZERO)
        ok = True
        if m["fund_pay_sumamt"] != funds:
            errors.add("fund_pay_sumamt", "inconsistent", f"基金支付总额{m['fund_pay_sumamt']}不等于各项基金支出之和{funds}")
            ok = False
        if m["medfee_sumamt"] != m["fund_pay_sumamt"] + m["psn_part_amt"]:
            errors.add("psn_part_amt", "inconsistent",
                       f"医疗费总额{m['medfee_sumamt']}不等于基金支付总额{m['fund_pay_sumamt']}加个人负担总金额{m['psn_part_amt']}")
            ok = False
        scope = m["medfee_sumamt"] - m["fulamt_ownpay_amt"] - m["overlmt_selfpay"] - m["preselfpay_amt"]
        if m["inscp_scp_amt"] != scope:
            errors.add("inscp_scp_amt", "inconsistent", f"符合政策范围金额{m['inscp_scp_amt']}应为医疗费总额减全自费、超限价、先行自付（{scope}）")
            ok = False
        outside = m["fulamt_ownpay_amt"] + m["overlmt_selfpay"]
        if m["psn_part_amt"] < outside:
            errors.add("psn_part_amt", "inconsistent", f"个人负担总金额{m['psn_part_amt']}小于全自费与超限价之和{outside}")
            ok = False
        if m["hvy_ion_amt"] > m["fulamt_ownpay_amt"]:
            errors.add("hvy_ion_amt", "inconsistent", f"质子重离子自费金额{m['hvy_ion_amt']}超过全自费金额{m['fulamt_ownpay_amt']}")
            ok = False
        if ok:
            amounts = {
                "total": m["medfee_sumamt"],
                "base_fund_paid": funds - m["hifmi_pay"] - m["maf_pay"],
                "critical_illness_paid": m["hifmi_pay"],
                "medical_assistance_paid": m["maf_pay"],
                "in_catalog_self_pay": m["psn_part_amt"] - outside,
                "out_of_catalog": outside - m["hvy_ion_amt"],
                "heavy_ion": m["hvy_ion_amt"],
            }
    if errors.items:
        raise RecordInvalid(errors.items)
    record = {
        "settlement_id": text["setl_id"], "id_number": text["certno"], "name": text["psn_name"],
        "hospital_code": text["fixmedins_code"], "hospital_name": text["fixmedins_name"], "hospital_level": level,
        "designated": True, "in_region": text["mdtrtarea_admvs"][:4] == text["insuplc_admdvs"][:4],
        "visit_type": visit_type, "admission_date": admission, "settled_at": settled_at, "diagnoses": diagnoses,
        "pre_existing": False, "amounts": {key: f"{value:.2f}" for key, value in amounts.items()},
    }
    if discharge:
        record["discharge_date"] = discharge
    return record


def field_of(record_field: str) -> str:
    """The platform field behind a settlement-record field (to name it in a refusal)."""
    return PREFIX + {
        "settlement_id": "setl_id", "id_number": "certno", "name": "psn_name", "hospital_code": "fixmedins_code",
        "hospital_name": "fixmedins_name", "admission_date": "begndate", "discharge_date": "enddate",
        "settled_at": "setl_time", "diagnoses": "diseinfo", "visit_type": "med_type", "hospital_level": "hosp_lv",
    }.get(record_field.split("[")[0].split(".")[0], record_field)
