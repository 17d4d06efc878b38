"""The 医疗保障信息平台 message envelope, both directions, signed with SM2 over SM3.

The public 定点医药机构接口规范 defines one service address for every transaction; the
transaction is named by ``infno`` inside the message.

Request (``input`` is the transaction's own input, ``{"data": {...}}`` for most)::

    {"infno": "1101", "msgid": "<fixmedins_code 12><yyyyMMddHHmmss><4 digits>",
     "mdtrtarea_admvs": "371000", "insuplc_admdvs": "371002", "recer_sys_code": "...",
     "dev_no": "", "dev_safe_info": "", "cainfo": "<signature>", "signtype": "SM2",
     "infver": "V1.0", "opter_type": "2", "opter": "...", "opter_name": "...",
     "inf_time": "2026-11-25 10:00:00", "fixmedins_code": "...", "fixmedins_name": "...",
     "sign_no": "", "input": {...}}

Answer::

    {"infcode": 0, "inf_refmsgid": "<receiver's message id>", "refmsg_time": "...",
     "respond_time": "...", "err_msg": "", "warn_msg": "", "output": {...},
     "signtype": "SM2", "cainfo": "<signature>"}

``infcode`` 0 is success, -1 (or any other value) failure with ``err_msg``.

Signature (the specification names ``cainfo``/``signtype`` and recommends SM2/SM3 but leaves the
signed string to the local bureau; our choice): ``cainfo`` = SM2 signature (hex ``r || s``) of
SM3(Z_A || *plain*), where *plain* is the message without ``cainfo`` as compact JSON with sorted
keys and unescaped UTF-8, every number written as the text it had on the wire (so a number never
changes by being parsed: both sides canonicalise the parsed message with numbers kept as text).
Amounts are sent as two-decimal strings. The sender signs with its private key; the receiver
verifies with the sender's registered public key. ``inf_time`` must be within
``MAX_CLOCK_SKEW`` of the receiver's clock.

Client: :func:`call` (raises :class:`Unavailable` for anything that is not a verified answer —
network error, timeout, HTTP error, unreadable body, missing or wrong signature — and
:class:`PlatformError` for a verified failure answer). Server: :func:`receive` and :func:`answer`
(the simulator; any other receiver of signed envelopes, e.g. the hospital-window settlement API,
with its own keys).
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from portal.integrations.hsa import conf, sm

logger = logging.getLogger(__name__)

SIGNTYPE = "SM2"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_CLOCK_SKEW = timedelta(minutes=5)
SUCCESS = 0
FAILURE = -1
REQUEST_FIELDS = ("infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code", "dev_no", "dev_safe_info",
                  "cainfo", "signtype", "infver", "opter_type", "opter", "opter_name", "inf_time", "fixmedins_code",
                  "fixmedins_name", "sign_no", "input")
REQUIRED_REQUEST_FIELDS = ("infno", "msgid", "mdtrtarea_admvs", "recer_sys_code", "cainfo", "signtype", "infver",
                           "opter_type", "opter", "opter_name", "inf_time", "fixmedins_code", "input")
OPTER_TYPES = {"1": "经办人", "2": "自助终端", "3": "移动终端"}


class Unavailable(Exception):
    """No verified answer: the caller must not act on a guess (retry later or ask again)."""

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(f"医疗保障信息平台暂时无法访问（{detail}）")


class SignatureInvalid(Unavailable):
    pass


class PlatformError(Exception):
    """A verified answer with ``infcode`` other than 0."""

    def __init__(self, infcode: int, err_msg: str, answer: dict | None = None):
        self.infcode, self.err_msg, self.answer = infcode, err_msg, answer or {}
        super().__init__(f"infcode {infcode}: {err_msg}")


class EnvelopeInvalid(Exception):
    """A request a receiver refuses; ``err_msg`` names the field (answered with infcode -1)."""

    def __init__(self, err_msg: str):
        self.err_msg = err_msg
        super().__init__(err_msg)


@dataclass(frozen=True)
class Answer:
    msgid: str
    infcode: int
    err_msg: str
    warn_msg: str
    output: Any
    inf_refmsgid: str


def now() -> datetime:
    return datetime.now(SHANGHAI)


def _encode(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=_encode).encode("utf-8")


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def loads(body: bytes) -> dict:
    """The message with every number kept as its text (``"100.00"``, ``"0"``)."""
    message = json.loads(body.decode("utf-8"), parse_float=str, parse_int=str, parse_constant=_reject_constant)
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")
    return message


def plain(message: dict) -> bytes:
    """The signed text: the message without ``cainfo``, canonical JSON (see the module's doc)."""
    fields = {key: value for key, value in message.items() if key != "cainfo"}
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(message: dict, private_key: str) -> dict:
    """The message with ``signtype`` and ``cainfo`` set (signed over its wire form, see :func:`plain`)."""
    unsigned = {**message, "signtype": SIGNTYPE, "cainfo": ""}
    return {**unsigned, "cainfo": sm.sign(plain(loads(dumps(unsigned))), private_key)}


def verified(message: dict, public_key: str) -> bool:
    return message.get("signtype") == SIGNTYPE and sm.verify(plain(message), message.get("cainfo", ""), public_key)


def new_msgid(code: str, at: datetime | None = None) -> str:
    """Sender's code (12) + yyyyMMddHHmmss (14) + sequence (4): 30 characters."""
    return f"{code:<12.12}{(at or now()).strftime('%Y%m%d%H%M%S')}{secrets.randbelow(10_000):04d}"


def request(infno: str, input: dict, *, insuplc_admdvs: str = "", mdtrtarea_admvs: str = "",
            opter_type: str = "2", opter: str = "", opter_name: str = "", at: datetime | None = None,
            fixmedins_code: str = "", fixmedins_name: str = "") -> dict:
    """An unsigned request envelope with the settings' sender fields (or another sender's)."""
    at = at or now()
    code = fixmedins_code or conf.fixmedins_code()
    return {
        "infno": infno,
        "msgid": new_msgid(code, at),
        "mdtrtarea_admvs": mdtrtarea_admvs or conf.mdtrtarea_admvs(),
        "insuplc_admdvs": insuplc_admdvs,
        "recer_sys_code": conf.recer_sys_code(),
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": SIGNTYPE,
        "infver": conf.infver(),
        "opter_type": opter_type,
        "opter": opter or conf.opter(),
        "opter_name": opter_name or conf.opter_name(),
        "inf_time": at.strftime(TIME_FORMAT),
        "fixmedins_code": code,
        "fixmedins_name": fixmedins_name or conf.fixmedins_name(),
        "sign_no": "",
        "input": input,
    }


def call(infno: str, input: dict, **fields) -> Answer:
    """Send one signed request to ``HSA_SERVICE_URL`` and return its verified, successful answer."""
    message = sign(request(infno, input, **fields), conf.private_key())
    http = urllib.request.Request(conf.service_url(), data=dumps(message), method="POST",
                                  headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(http, timeout=conf.timeout()) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        logger.warning("hsa %s: HTTP %s", infno, exc.code)
        raise Unavailable(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        logger.warning("hsa %s: %s", infno, type(exc).__name__)
        raise Unavailable(type(exc).__name__) from exc
    try:
        reply = loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("hsa %s: unreadable answer", infno)
        raise Unavailable("unreadable answer") from exc
    if not verified(reply, conf.platform_public_key()):
        logger.warning("hsa %s: answer signature invalid", infno)
        raise SignatureInvalid("answer signature invalid")
    try:
        infcode = int(reply["infcode"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Unavailable("answer without infcode") from exc
    result = Answer(msgid=message["msgid"], infcode=infcode, err_msg=str(reply.get("err_msg") or ""),
                    warn_msg=str(reply.get("warn_msg") or ""), output=reply.get("output"),
                    inf_refmsgid=str(reply.get("inf_refmsgid") or ""))
    if infcode != SUCCESS:
        logger.info("hsa %s: infcode %s %s", infno, infcode, result.err_msg)
        raise PlatformError(infcode, result.err_msg, reply)
    return result


# --- the receiving side ---------------------------------------------------------------------------


def receive(body: bytes, public_key: str, *, at: datetime | None = None) -> dict:
    """A request verified against the sender's public key, or :class:`EnvelopeInvalid`."""
    try:
        message = loads(body)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeInvalid("报文不是合法的JSON对象") from None
    missing = [name for name in REQUIRED_REQUEST_FIELDS if message.get(name) in (None, "")]
    if missing:
        raise EnvelopeInvalid(f"缺少必填字段：{'、'.join(missing)}")
    if not verified(message, public_key):
        raise EnvelopeInvalid("cainfo：数字签名验证失败")
    if len(str(message["msgid"])) != 30:
        raise EnvelopeInvalid("msgid：发送方报文ID应为30位")
    if message["opter_type"] not in OPTER_TYPES:
        raise EnvelopeInvalid("opter_type：经办人类别应为1、2或3")
    try:
        sent = datetime.strptime(str(message["inf_time"]), TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except ValueError:
        raise EnvelopeInvalid("inf_time：交易时间格式应为yyyy-MM-dd HH:mm:ss") from None
    if abs((at or now()) - sent) > MAX_CLOCK_SKEW:
        raise EnvelopeInvalid("inf_time：交易时间与平台时间相差超过5分钟")
    if not isinstance(message["input"], dict):
        raise EnvelopeInvalid("input：交易输入应为JSON对象")
    return message


def answer(private_key: str, *, output: Any = None, infcode: int = SUCCESS, err_msg: str = "", warn_msg: str = "",
           refmsgid_code: str = "HSA000000000", received_at: datetime | None = None) -> bytes:
    """A signed answer body."""
    at = now()
    message = {
        "infcode": infcode,
        "inf_refmsgid": new_msgid(refmsgid_code, at),
        "refmsg_time": (received_at or at).strftime("%Y%m%d%H%M%S%f")[:17],
        "respond_time": at.strftime("%Y%m%d%H%M%S%f")[:17],
        "err_msg": err_msg,
        "warn_msg": warn_msg,
        "output": output if output is not None else {},
    }
    return dumps(sign(message, private_key))
