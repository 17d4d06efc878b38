"""The transactions the simulated platform answers, one handler per ``infno``.

A handler takes the request's ``input`` and the whole (verified) message and returns ``output``,
or raises :class:`Refused` (answered ``infcode`` -1 with its message).
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from portal.integrations.hsa import envelope, persons


class Refused(Exception):
    def __init__(self, err_msg: str):
        self.err_msg = err_msg
        super().__init__(err_msg)


def _data(input: dict, node: str = "data") -> dict:
    data = input.get(node)
    if not isinstance(data, dict):
        raise Refused(f"input.{node}：缺少交易输入节点")
    return data


def sign_in(input: dict, message: dict) -> dict:
    """9001 签到: a sign-in serial number for the operator (``sign_no`` of later requests)."""
    data = _data(input, "signIn")
    if not data.get("opter_no"):
        raise Refused("signIn.opter_no：操作员编号不能为空")
    return {"signinoutb": {"sign_time": envelope.now().strftime(envelope.TIME_FORMAT), "sign_no": secrets.token_hex(16)}}


def psn_no(id_hash: str) -> str:
    """The simulated platform's person number: 26 digits, stable for an ID number."""
    return f"{int(id_hash[:24], 16) % 10**26:026d}"


_STATUS = {"in_force": persons.INSURED, "suspended": persons.PAUSED, "not_insured": persons.ENDED}
_INSUTYPE = {"employee": persons.EMPLOYEE_INSUTYPE, "resident": persons.RESIDENT_INSUTYPE}


def _person_info(entry, asked: dict) -> dict:
    item = {"certno": asked["certno"], "baseinfo": {}, "insuinfo": [], "idetinfo": [], "famacctinfo": []}
    if entry is None:
        return item
    item["baseinfo"] = {"psn_no": psn_no(entry.id_hash), "psn_cert_type": asked.get("psn_cert_type") or "01",
                        "certno": asked["certno"], "psn_name": entry.name}
    employee = entry.category == "employee"
    item["insuinfo"] = [{
        "insutype": _INSUTYPE.get(entry.category, persons.RESIDENT_INSUTYPE),
        "psn_insu_stas": _STATUS.get(entry.status, persons.ENDED),
        "insuplc_admdvs": entry.insured_region,
        "psn_insu_date": entry.joined_on.isoformat() if entry.joined_on else None,
        "balc": entry.account_balance if employee else None,
        "psn_type": "11" if employee else "15",
    }]
    facts = [fact for fact in ("medical_assistance", "veteran", "newborn") if getattr(entry, fact)]
    item["idetinfo"] = [{"psn_idet_type": persons.IDET_TYPES[fact], "begntime": None, "endtime": None}
                        for fact in [*facts, *entry.hardship] if fact in persons.IDET_TYPES]
    item["famacctinfo"] = [{"psn_no": psn_no(digest)} for digest in entry.family_hashes]
    return item


def person_batch(input: dict, message: dict) -> dict:
    """C101 人员参保信息批量查询 (see ``persons``): every person asked, from the roster."""
    from enrollment import idnumber
    from portal import crypto
    from portal.simulators.models import RosterEntry

    data = input.get("data")
    if not isinstance(data, list) or not data:
        raise Refused("input.data：应为人员列表")
    if len(data) > persons.BATCH_SIZE:
        raise Refused(f"input.data：每次最多查询{persons.BATCH_SIZE}人")
    hashes = {}
    for index, asked in enumerate(data):
        if not isinstance(asked, dict) or not asked.get("certno"):
            raise Refused(f"input.data[{index}].certno：证件号码不能为空")
        try:
            hashes[index] = crypto.blind_index(idnumber.normalize(asked["certno"]))
        except idnumber.IdNumberError:
            hashes[index] = None
    found = {e.id_hash: e for e in RosterEntry.objects.filter(id_hash__in=[h for h in hashes.values() if h])}
    return {"psninfo": [_person_info(found.get(hashes[i]), asked) for i, asked in enumerate(data)]}


def _money(data: dict, name: str) -> Decimal:
    try:
        amount = Decimal(str(data.get(name, "")))
    except InvalidOperation:
        raise Refused(f"{name}：金额格式不正确") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise Refused(f"{name}：金额应为大于0、最多两位小数的元")
    return amount


def _acctpay(trade, balance=None) -> dict:
    return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "amt": trade.amount, "trade_stas": "1",
            "trade_time": trade.paid_at.astimezone(envelope.SHANGHAI).strftime(envelope.TIME_FORMAT),
            "balc": balance}


def _acctrefd(refund) -> dict:
    return {"refd_no": refund.refund_no, "out_refund_no": refund.out_refund_no, "amt": refund.amount, "refd_stas": "1",
            "refd_time": refund.refunded_at.astimezone(envelope.SHANGHAI).strftime(envelope.TIME_FORMAT)}


def account_pay(input: dict, message: dict) -> dict:
    """C201 个人账户缴费 (``hsa.account``): debit the employee's account, or refuse and change nothing."""
    from django.db import transaction
    from django.db.models import F

    from enrollment import idnumber
    from portal import crypto
    from portal.simulators.models import AccountTrade, RosterEntry

    data = _data(input)
    for name in ("certno", "psn_name", "out_trade_no", "auth_text", "auth_time"):
        if not data.get(name):
            raise Refused(f"{name}：不能为空")
    amount = _money(data, "amt")
    try:
        digest = crypto.blind_index(idnumber.normalize(data["certno"]))
    except idnumber.IdNumberError:
        raise Refused("certno：证件号码不正确") from None
    with transaction.atomic():
        existing = AccountTrade.objects.select_for_update().filter(out_trade_no=data["out_trade_no"]).first()
        if existing is not None:
            if existing.amount != amount or existing.payer_hash != digest:
                raise Refused("out_trade_no：该商户订单号已用于另一笔缴费")
            return {"acctpay": _acctpay(existing)}
        entry = RosterEntry.objects.select_for_update().filter(id_hash=digest).first()
        if entry is None or entry.name.strip() != str(data["psn_name"]).strip():
            raise Refused("certno：未查询到该参保人员或姓名不符")
        if data.get("psn_no") and data["psn_no"] != psn_no(digest):
            raise Refused("psn_no：人员编号与证件号码不符")
        if entry.category != "employee":
            raise Refused("insutype：城乡居民基本医疗保险参保人员没有个人账户")
        if entry.status != "in_force":
            raise Refused("psn_insu_stas：职工基本医疗保险不在正常参保状态，个人账户不能支付")
        bound = {psn_no(h) for h in entry.family_hashes} | {psn_no(digest)}
        stray = [n for n in data.get("insu_psn_nos") or [] if n not in bound]
        if stray:
            raise Refused("insu_psn_nos：被保险人不在本人家庭共济绑定范围内")
        debited = RosterEntry.objects.filter(pk=entry.pk, account_balance__gte=amount).update(
            account_balance=F("account_balance") - amount)
        if not debited:
            raise Refused(f"balc：个人账户余额不足（余额{entry.account_balance}元，应缴{amount}元）")
        trade = AccountTrade.objects.create(
            out_trade_no=data["out_trade_no"], trade_no="HSA" + secrets.token_hex(12).upper(), payer_hash=digest,
            psn_no=psn_no(digest), amount=amount, description=str(data.get("trade_desc", ""))[:128],
            auth_text=str(data["auth_text"])[:60], auth_time=str(data["auth_time"])[:19])
        entry.refresh_from_db(fields=["account_balance"])
    return {"acctpay": _acctpay(trade, entry.account_balance)}


def account_refund(input: dict, message: dict) -> dict:
    """C202 个人账户缴费退费: credit back, once per ``out_refund_no``, never more than was paid."""
    from django.db import transaction
    from django.db.models import F, Sum

    from portal.simulators.models import AccountRefund, AccountTrade, RosterEntry

    data = _data(input)
    if not data.get("out_refund_no"):
        raise Refused("out_refund_no：不能为空")
    amount = _money(data, "amt")
    with transaction.atomic():
        trade = AccountTrade.objects.select_for_update().filter(out_trade_no=data.get("out_trade_no", "")).first()
        if trade is None:
            raise Refused("out_trade_no：原缴费交易不存在")
        existing = trade.refunds.filter(out_refund_no=data["out_refund_no"]).first()
        if existing is not None:
            if existing.amount != amount:
                raise Refused("out_refund_no：该退费单号已用于另一金额")
            return {"acctrefd": _acctrefd(existing)}
        refunded = trade.refunds.aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if refunded + amount > trade.amount:
            raise Refused("amt：退费金额超过原缴费金额")
        refund = AccountRefund.objects.create(trade=trade, out_refund_no=data["out_refund_no"], amount=amount,
                                              refund_no="HSR" + secrets.token_hex(12).upper())
        RosterEntry.objects.filter(id_hash=trade.payer_hash).update(account_balance=F("account_balance") + amount)
    return {"acctrefd": _acctrefd(refund)}


def account_query(input: dict, message: dict) -> dict:
    """C203 个人账户交易查询."""
    from portal.simulators.models import AccountTrade

    data = _data(input)
    trade = AccountTrade.objects.filter(out_trade_no=data.get("out_trade_no", "")).first()
    if trade is None:
        return {"acctpay": {}, "acctrefd": []}
    return {"acctpay": _acctpay(trade), "acctrefd": [_acctrefd(r) for r in trade.refunds.order_by("pk")]}


HANDLERS = {
    "9001": sign_in,
    persons.INFNO: person_batch,
    "C201": account_pay,
    "C202": account_refund,
    "C203": account_query,
}
