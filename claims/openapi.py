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


def document(base_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "惠民保一站式结算数据接入接口", "version": "1.0.0",
                 "description": "医保“一站式”结算系统推送结算单。每个接入系统有独立密钥；每个请求签名。"
                                "以 settlement_id 幂等：同一记录重复发送返回相同结果，同一单号内容不同为冲突，绝不覆盖。"},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
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
