"""Weihai 医保个人账户 payment on the platform: pay, refund, query, in the signed envelope.

Transactions (the bureau's extension for commercial insurers — the public 定点医药机构接口规范
settles medical costs, not premiums; our choice of codes and fields, here alone):

- ``C201`` 个人账户缴费: ``{"data": {"psn_no", "psn_cert_type", "certno", "psn_name",
  "out_trade_no", "amt", "trade_desc", "auth_text", "auth_time", "insu_psn_nos"}}`` → ``{"acctpay":
  {"trade_no", "out_trade_no", "amt", "trade_stas": "1", "trade_time", "balc"}}``. The platform
  debits the account in the same step and refuses (``infcode`` -1) when it cannot: ``balc：…``
  when the balance is short, ``insutype：…`` when the payer has no personal account. Repeating an
  ``out_trade_no`` with the same amount answers the trade already made (no second debit), so a
  request whose answer was lost is simply sent again.
- ``C202`` 个人账户缴费退费: ``{"data": {"out_trade_no", "out_refund_no", "amt", "refd_rea"}}`` →
  ``{"acctrefd": {"refd_no", "out_refund_no", "amt", "refd_stas": "1", "refd_time"}}``; idempotent on
  ``out_refund_no``; never more than was paid.
- ``C203`` 个人账户交易查询: ``{"data": {"out_trade_no"}}`` → ``{"acctpay": {...} | {}, "acctrefd": [...]}``.

Amounts are yuan with two decimals (strings). ``auth_text`` / ``auth_time`` carry the version of
the 医保个人账户支付授权 text the payer agreed to for this payment, and when.

:class:`PersonalAccount` offers the calls ``enrollment.billing`` makes of a payment channel
(create, query, close, refund, query_refund). A payment is complete when ``create`` returns: the
"payment page" is the order's own status page.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from portal.integrations import payments
from portal.integrations.hsa import envelope

PAY, REFUND, QUERY = "C201", "C202", "C203"
NOT_ENOUGH, NO_ACCOUNT, UNAVAILABLE, REFUSED = "NOT_ENOUGH", "NO_ACCOUNT", "UNAVAILABLE", "REFUSED"


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise payments.ProviderError(UNAVAILABLE, "医保个人账户的答复无法识别，请稍后重试") from None
    if amount != amount.quantize(payments.CENT):
        raise payments.ProviderError(UNAVAILABLE, "医保个人账户的答复无法识别，请稍后重试")
    return amount


def _time(value) -> datetime | None:
    try:
        return datetime.strptime(str(value), envelope.TIME_FORMAT).replace(tzinfo=envelope.SHANGHAI)
    except ValueError:
        return None


def _call(infno: str, data: dict) -> dict:
    try:
        answer = envelope.call(infno, {"data": data})
    except envelope.Unavailable:
        raise payments.ProviderError(UNAVAILABLE, "医保个人账户暂时无法访问，请稍后重试", retryable=True) from None
    except envelope.PlatformError as exc:
        field = exc.err_msg.split("：", 1)[0]
        code = {"balc": NOT_ENOUGH, "insutype": NO_ACCOUNT}.get(field, REFUSED)
        message = exc.err_msg.split("：", 1)[-1] or "医保个人账户支付未成功"
        raise payments.ProviderError(code, f"医保个人账户：{message}") from None
    return answer.output if isinstance(answer.output, dict) else {}


class PersonalAccount:
    name = "medical_account"
    label = "医保个人账户"

    def create(self, *, out_trade_no, amount, description, notify_url, return_url, client_ip, expires_at,
               payer_id_number, payer_cert_type="01", payer_name="", payer_psn_no="", insured_psn_nos=(),
               auth_text="", auth_time=None):
        data = {"psn_no": payer_psn_no, "psn_cert_type": payer_cert_type, "certno": payer_id_number,
                "psn_name": payer_name, "out_trade_no": out_trade_no, "amt": f"{amount:.2f}",
                "trade_desc": description[:128], "auth_text": auth_text,
                "auth_time": auth_time.astimezone(envelope.SHANGHAI).strftime(envelope.TIME_FORMAT) if auth_time else "",
                "insu_psn_nos": list(insured_psn_nos)}
        output = _call(PAY, data).get("acctpay") or {}
        if output.get("out_trade_no") != out_trade_no or _amount(output.get("amt")) != amount:
            raise payments.ProviderError(UNAVAILABLE, "医保个人账户的答复与订单不符，请稍后重试")
        return payments.Created(pay_url=return_url)

    def query(self, out_trade_no):
        output = _call(QUERY, {"out_trade_no": out_trade_no})
        trade = output.get("acctpay") or {}
        if not trade:
            return payments.Trade(state="NOTFOUND", out_trade_no=out_trade_no)
        refunded = sum((_amount(r.get("amt")) for r in output.get("acctrefd") or []), Decimal("0.00"))
        state = "REFUND" if refunded else "SUCCESS"
        return payments.Trade(state=state, out_trade_no=out_trade_no, transaction_id=str(trade.get("trade_no", "")),
                              amount=_amount(trade.get("amt")), paid_at=_time(trade.get("trade_time")),
                              description="已从医保个人账户扣缴")

    def close(self, out_trade_no):
        """Nothing stays open on the platform: a payment is made or refused in one step."""

    def refund(self, *, out_trade_no, out_refund_no, amount, total, reason, notify_url):
        output = _call(REFUND, {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
                                "amt": f"{amount:.2f}", "refd_rea": reason[:80]}).get("acctrefd") or {}
        return payments.RefundResult(status="SUCCESS" if output.get("refd_stas") == "1" else "PROCESSING",
                                     out_refund_no=out_refund_no, refund_id=str(output.get("refd_no", "")),
                                     amount=_amount(output.get("amt", amount)))

    def query_refund(self, *, out_trade_no, out_refund_no):
        output = _call(QUERY, {"out_trade_no": out_trade_no})
        for refund in output.get("acctrefd") or []:
            if refund.get("out_refund_no") == out_refund_no:
                return payments.RefundResult(status="SUCCESS", out_refund_no=out_refund_no,
                                             refund_id=str(refund.get("refd_no", "")), amount=_amount(refund.get("amt")))
        return payments.RefundResult(status="NOTFOUND", out_refund_no=out_refund_no)
