"""The OpenAPI 3.1 document of the settlement intake API, served at ``/api/v1/openapi.json``."""

from claims.rules import setlinfo
from claims.rules.records import AMOUNT_KEYS

MONEY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$", "description": "元，最多两位小数（字符串，不用浮点数）"}
SIGNED = [
    {"name": "X-Key-Id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "接入系统的密钥编号"},
    {"name": "X-Timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix 秒；与服务器时间相差超过5分钟的请求被拒绝"},
    {"name": "X-Nonce", "in": "header", "required": True, "schema": {"type": "string", "maxLength": 64},
     "description": "随机串，只能使用一次（10分钟内重复视为重放）"},
    {"name": "X-Signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "hex(HMAC-SHA256(secret, METHOD + \"\\n\" + path + \"\\n\" + timestamp + \"\\n\" + nonce + \"\\n\" + body))"},
]
ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}}}}}
RESULT = {"type": "object", "required": ["index", "settlement_id", "status", "errors"], "properties": {
    "index": {"type": "integer", "description": "记录在 records 中的位置（从0开始）"},
    "settlement_id": {"type": ["string", "null"]},
    "status": {"enum": ["accepted", "conflict", "refused"],
               "description": "accepted：已接收（重复发送同一记录也返回 accepted）；conflict：同一单号内容不同，不会覆盖；refused：校验不通过"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}},
}}
RECORD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["settlement_id", "id_number", "name", "hospital_code", "hospital_name", "hospital_level",
                 "designated", "in_region", "visit_type", "admission_date", "settled_at", "diagnoses",
                 "pre_existing", "amounts"],
    "properties": {
        "settlement_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "id_number": {"type": "string", "description": "18位居民身份证号（GB 11643，校验码有效）"},
        "name": {"type": "string"},
        "hospital_code": {"type": "string"},
        "hospital_name": {"type": "string"},
        "hospital_level": {"type": "integer", "minimum": 1, "maximum": 3},
        "designated": {"type": "boolean"},
        "in_region": {"type": "boolean"},
        "visit_type": {"enum": ["inpatient", "outpatient"]},
        "admission_date": {"type": "string", "format": "date"},
        "discharge_date": {"type": "string", "format": "date", "description": "住院必填，不早于入院日期"},
        "settled_at": {"type": "string", "format": "date-time", "description": "须带时区偏移"},
        "diagnoses": {"type": "array", "minItems": 1, "items": {"type": "string", "description": "ICD-10"}},
        "pre_existing": {"type": "boolean"},
        "reverses": {"type": "string", "description": "冲正/重结算：被本记录替代的原结算单号"},
        "drugs": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "amount": MONEY}}},
        "amounts": {"type": "object", "additionalProperties": False, "required": ["total"],
                    "properties": {key: MONEY for key in AMOUNT_KEYS},
                    "description": "total 不小于其余各项之和"},
    },
}


SETLINFO = {
    "type": "object",
    "additionalProperties": False,
    "required": [*setlinfo.REQUIRED_TEXT, *setlinfo.REQUIRED_AMOUNTS, "diseinfo"],
    "properties": {
        **{key: {"type": "string", "description": setlinfo.LABELS.get(key, key)}
           for key in (*setlinfo.REQUIRED_TEXT, *setlinfo.OPTIONAL_TEXT)},
        **{key: {"type": ["string", "integer"], "pattern": MONEY["pattern"],
                 "description": setlinfo.LABELS.get(key, key) + "（元，最多两位小数，不用浮点数）"}
           for key in (*setlinfo.REQUIRED_AMOUNTS, *setlinfo.OPTIONAL_AMOUNTS)},
        "med_type": {"enum": sorted({**setlinfo.INPATIENT_MED_TYPES, **setlinfo.OUTPATIENT_MED_TYPES}),
                     "description": "医疗类别：21/22/23/24/52 为住院，11/12/13/14/41/51 为门诊"},
        "hosp_lv": {"enum": sorted(setlinfo.HOSP_LV), "description": "医院等级：01–04 三级，05–07 二级，08–11 一级"},
        "setl_time": {"type": "string", "description": "结算时间 yyyy-MM-dd HH:mm:ss（北京时间）"},
        "diseinfo": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["diag_code"],
                                                              "properties": {"diag_code": {"type": "string"}}}},
    },
}
ENVELOPE = {
    "type": "object",
    "required": ["infno", "msgid", "mdtrtarea_admvs", "recer_sys_code", "cainfo", "signtype", "infver", "opter_type",
                 "opter", "opter_name", "inf_time", "fixmedins_code", "input"],
    "properties": {
        "infno": {"enum": ["C301", "2208"], "description": "C301 结算信息推送；2208 结算撤销"},
        "msgid": {"type": "string", "minLength": 30, "maxLength": 30},
        "fixmedins_code": {"type": "string", "description": "发送方（登记为结算数据来源的接入密钥编号）"},
        "inf_time": {"type": "string", "description": "yyyy-MM-dd HH:mm:ss，与服务器时间相差不超过5分钟"},
        "signtype": {"const": "SM2"},
        "cainfo": {"type": "string", "description": "SM2(SM3) 签名，hex(r||s)，签名原文为去掉 cainfo 的报文（键排序的紧凑 JSON）"},
        "input": {"oneOf": [
            {"type": "object", "required": ["setlinfo"], "properties": {
                "setlinfo": {"type": "array", "minItems": 1, "maxItems": 1000, "items": SETLINFO}}},
            {"type": "object", "required": ["data"], "properties": {"data": {"type": "object", "required": ["setl_id"],
                "properties": {"setl_id": {"type": "string"}, "mdtrt_id": {"type": "string"},
                               "psn_no": {"type": "string"}}}}},
        ]},
    },
}
ANSWER = {
    "type": "object",
    "properties": {
        "infcode": {"type": "integer", "description": "0 成功；-1 失败（err_msg 指明字段）"},
        "err_msg": {"type": "string"}, "inf_refmsgid": {"type": "string"}, "signtype": {"const": "SM2"},
        "cainfo": {"type": "string", "description": "承保公司私钥的 SM2(SM3) 签名"},
        "output": {"type": "object", "description": "C301：counts 与逐条 results（index、setl_id、status、errors）；"
                                                      "2208：setl_id 与 status"},
    },
}


FIELD_ERRORS = {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "items": {
    "type": "object", "required": ["field", "code", "message"], "properties": {
        "field": {"type": "string", "description": "出错的字段（嵌套字段以点分隔，如 amounts.total）"},
        "code": {"type": "string", "description": "稳定的机器可读代码"},
        "message": {"type": "string", "description": "中文说明，写明字段与原因"}}}}}}
WINDOW_LINE = {"type": "object", "properties": {
    "responsibility": {"type": "string"}, "name": {"type": "string", "description": "保险责任名称"},
    "covered": MONEY, "deductible": MONEY, "payout": MONEY,
    "explanation": {"type": "string", "description": "中文计算说明（免赔额、分段比例、限额）"}}}
WINDOW_ANSWER = {"type": "object", "required": ["status", "settlement_id", "outcome", "own_part", "payout",
                                                "patient_pays", "lines", "explanation"], "properties": {
    "status": {"enum": ["quoted", "settled"], "description": "quoted：预结算（未保存）；settled：已结算，赔付已固定"},
    "settlement_id": {"type": "string"},
    "policy_number": {"type": "string"},
    "outcome": {"enum": ["accepted", "rejected"]},
    "reason": {"type": ["string", "null"], "description": "不予赔付的原因代码（not_covered、outside_coverage、not_insured、duplicate）"},
    "own_part": {**MONEY, "description": "本次结算个人负担（总费用减基本医保、大病保险、医疗救助支付）"},
    "payout": {**MONEY, "description": "本保险本次赔付，由医院窗口直接抵扣"},
    "patient_pays": {**MONEY, "description": "患者仍需支付 = own_part − payout"},
    "lines": {"type": "array", "items": WINDOW_LINE},
    "explanation": {"type": "string"},
}}
WINDOW_RECORD_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["record"], "properties": {"record": RECORD}}}}}
WINDOW_REFUSALS = {
    "400": {"description": "请求体不是 JSON 对象或缺少 record", "content": {"application/json": {"schema": ERROR}}},
    "401": {"description": "密钥未知、签名错误、时间超出5分钟或随机串重复",
            "content": {"application/json": {"schema": ERROR}}},
    "422": {"description": "记录校验不通过，或未找到有效保单（字段 id_number / admission_date）；不写入任何数据",
            "content": {"application/json": {"schema": FIELD_ERRORS}}},
}


def _window_paths() -> dict:
    return {
        "/window/quote": {"post": {
            "summary": "预结算：按当前年度累计计算本次赔付（逐项说明）与患者仍需支付，不保存",
            "parameters": SIGNED, "requestBody": WINDOW_RECORD_BODY,
            "responses": {"200": {"description": "预结算结果", "content": {"application/json": {
                "schema": WINDOW_ANSWER}}}, **WINDOW_REFUSALS},
        }},
        "/window/settlements": {"post": {
            "summary": "窗口结算：保存结算单并在保单年度锁内固定本次赔付",
            "description": "以 settlement_id 幂等：同一记录再次发送返回相同结果；同一单号内容不同返回 409。"
                           "已固定的赔付不会被改写；之后到达的、结算时间更早的结算单造成的差额记为调整，与医院清算。",
            "parameters": SIGNED, "requestBody": WINDOW_RECORD_BODY,
            "responses": {
                "200": {"description": "已结算（重复发送返回相同结果）",
                        "content": {"application/json": {"schema": WINDOW_ANSWER}}},
                **WINDOW_REFUSALS,
                "409": {"description": "conflict：同一单号内容不同；reversed：该单已撤销；already_received：该单号已由结算数据接口接收",
                        "content": {"application/json": {"schema": FIELD_ERRORS}}},
            },
        }},
        "/window/settlements/{settlement_id}/reversal": {"post": {
            "summary": "撤销窗口结算：冲回赔付，重算保单年度，其他结算单的差额记为调整",
            "parameters": [{"name": "settlement_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           *SIGNED],
            "responses": {
                "200": {"description": "已撤销（重复撤销返回相同结果）", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "status": {"const": "reversed"}, "settlement_id": {"type": "string"},
                        "payout_reversed": MONEY, "explanation": {"type": "string"},
                        "adjustments": {"type": "array", "items": {"type": "object", "properties": {
                            "settlement_id": {"type": "string"}, "at_window": {"type": "boolean"},
                            "amount": {"type": "string", "description": "调整金额（元，可为负）"}}}}}}}}},
                "401": WINDOW_REFUSALS["401"],
                "404": {"description": "unknown_settlement：未找到该窗口结算",
                        "content": {"application/json": {"schema": FIELD_ERRORS}}},
            },
        }},
        "/window/reconciliation": {"post": {
            "summary": "对账：平台某医院某日窗口结算的总账（笔数、金额）与明细，与本系统核对",
            "description": "结算计正数、撤销计负数（撤销日）。再次发送同一医院同一日的对账替换上一次的结果；差异列于管理后台“窗口结算对账”。",
            "parameters": SIGNED,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["hospital_code", "day", "totals"], "properties": {
                    "hospital_code": {"type": "string"}, "day": {"type": "string", "format": "date"},
                    "totals": {"type": "object", "required": ["count", "amount"], "properties": {
                        "count": {"type": "integer", "minimum": 0},
                        "amount": {"type": "string", "description": "元，可为负，最多两位小数"}}},
                    "detail": {"type": "array", "description": "可省略（只对总账）", "items": {
                        "type": "object", "required": ["settlement_id", "type", "amount"], "properties": {
                            "settlement_id": {"type": "string"}, "type": {"enum": ["settle", "reverse"]},
                            "amount": {"type": "string"}}}}}}}}},
            "responses": {
                "200": {"description": "核对结果", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "totals": {"type": "object"}, "detail_checked": {"type": "boolean"},
                        "matched": {"type": "boolean"},
                        "differences": {"type": "array", "items": {"type": "object", "properties": {
                            "settlement_id": {"type": "string"}, "type": {"enum": ["settle", "reverse"]},
                            "difference": {"enum": ["missing_here", "missing_on_platform", "amount_differs"]},
                            "platform": {"type": ["string", "null"]}, "ours": {"type": ["string", "null"]},
                            "message": {"type": "string"}}}}}}}}},
                "400": WINDOW_REFUSALS["400"], "401": WINDOW_REFUSALS["401"],
                "422": {"description": "字段错误（如 day 未结束、金额格式）", "content": {"application/json": {
                    "schema": FIELD_ERRORS}}},
            },
        }},
    }


def document(base_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "惠民保一站式结算数据接入接口", "version": "1.0.0",
                 "description": "医保“一站式”结算系统推送结算单。每个接入系统有独立密钥；每个请求签名。"
                                "以 settlement_id 幂等：同一记录重复发送返回相同结果，同一单号内容不同为冲突，绝不覆盖。"
                                "/window/* 为出院结算时的医院窗口即时结算（预结算、结算、撤销），签名方式相同。"},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            **_window_paths(),
            "/settlements": {"post": {
                "summary": "推送一批结算单（最多1000条）",
                "parameters": SIGNED,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["records"],
                    "properties": {"records": {"type": "array", "minItems": 1, "maxItems": 1000, "items": RECORD}}}}}},
                "responses": {
                    "200": {"description": "逐条结果；合格的记录被接收，即使同批其他记录被拒",
                            "content": {"application/json": {"schema": {"type": "object", "properties": {
                                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                                "results": {"type": "array", "items": RESULT}}}}}},
                    "400": {"description": "请求体不是 JSON、嵌套超过8层、字符串含空字符（\\u0000）或缺少 records；"
                                           "请求头或地址含控制字符",
                            "content": {"application/json": {"schema": ERROR}}},
                    "401": {"description": "密钥未知、签名错误、时间超出5分钟或随机串重复（code 说明原因）",
                            "content": {"application/json": {"schema": ERROR}}},
                    "413": {"description": "超过1000条", "content": {"application/json": {"schema": ERROR}}},
                },
            }},
            "/hsa/callService": {"post": {
                "summary": "医疗保障信息平台报文：C301 推送结算信息（setlinfo），2208 结算撤销",
                "description": (
                    "按医疗保障信息平台接口规范的报文信封（infno、msgid、mdtrtarea_admvs、insuplc_admdvs、recer_sys_code、"
                    "infver、opter_type、opter、opter_name、inf_time、signtype、cainfo、input），平台私钥 SM2(SM3) 签名，"
                    "应答同样签名（infcode、err_msg、output）。拒绝一律 HTTP 200、infcode -1。结算信息经 "
                    "claims.rules.setlinfo 换算为本接口的结算单：total=medfee_sumamt；critical_illness_paid=hifmi_pay；"
                    "medical_assistance_paid=maf_pay；base_fund_paid=其余各项基金（hifp_pay+cvlserv_pay+hifes_pay+hifob_pay+oth_pay）；"
                    "out_of_catalog=fulamt_ownpay_amt+overlmt_selfpay−hvy_ion_amt；heavy_ion=hvy_ion_amt（扩展）；"
                    "in_catalog_self_pay=psn_part_amt−fulamt_ownpay_amt−overlmt_selfpay。基金合计、总额=基金+个人负担、"
                    "符合政策范围金额须相符，否则按字段拒绝。"),
                "requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE}}},
                "responses": {"200": {"description": "签名的应答报文", "content": {"application/json": {"schema": ANSWER}}}},
            }},
            "/settlements/{settlement_id}/reversal": {"post": {
                "summary": "冲正一张结算单（不附替代记录）；保单年度重新计算，差额记为调整",
                "parameters": [{"name": "settlement_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               *SIGNED],
                "responses": {
                    "200": {"description": "已冲正（重复冲正返回相同结果）",
                            "content": {"application/json": {"schema": RESULT}}},
                    "400": {"description": "地址或请求头含控制字符（如空字符）",
                            "content": {"application/json": {"schema": ERROR}}},
                    "401": {"description": "签名校验失败", "content": {"application/json": {"schema": ERROR}}},
                    "404": {"description": "未找到该结算单", "content": {"application/json": {"schema": RESULT}}},
                },
            }},
        },
    }
