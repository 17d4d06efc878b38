"""Alipay open platform, merchant side, through ``python-alipay-sdk`` (RSA2).

- Wap pay (``alipay.trade.wap.pay``, product QUICK_WAP_WAY): the SDK signs the parameters and the
  payer's browser opens ``gateway?…``; Alipay sends it back to ``return_url`` (paid) or
  ``quit_url`` (left the cashier).
- Query, close, refund, refund query and the bill URL go through the SDK's signed gateway calls;
  the SDK checks each answer's signature with Alipay's public key. Answer code ``10000`` is
  success; any other code is Alipay's refusal (``sub_code`` kept as the error code).
- Asynchronous notifications are form-encoded; their ``sign`` covers every other parameter but
  ``sign_type``; the merchant answers the bare word ``success`` (anything else and Alipay retries).
- Amounts: yuan strings with two places on the wire.
- Withholding (商户代扣): ``alipay.user.agreement.page.sign`` in the payer's browser, then
  ``alipay.user.agreement.query``/``unsign``, and ``alipay.trade.pay`` with
  ``product_code=GENERAL_WITHHOLDING`` and the agreement number.
"""

from __future__ import annotations

import csv
import io
import socket
import time
import urllib.error
import zipfile
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from urllib.parse import parse_qsl

import requests
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from django.utils import timezone

from portal.integrations.payments import (
    NOTIFICATION_MAX_AGE_SECONDS,
    BillRow,
    Contract,
    Created,
    InvalidNotification,
    Notification,
    ProviderError,
    RefundResult,
    Trade,
    conf,
    yuan,
)

STATES = {"WAIT_BUYER_PAY": "NOTPAY", "TRADE_SUCCESS": "SUCCESS", "TRADE_FINISHED": "SUCCESS",
          "TRADE_CLOSED": "CLOSED"}
RETRYABLE = {"20000", "aop.ACQ.SYSTEM_ERROR", "ACQ.SYSTEM_ERROR"}


@lru_cache(maxsize=4)
def _client(settings_: conf.AlipayConf) -> AliPay:
    client = AliPay(appid=settings_.app_id, app_private_key_string=settings_.app_private_key,
                    alipay_public_key_string=settings_.alipay_public_key, sign_type="RSA2",
                    config=AliPayConfig(timeout=settings_.timeout))
    client._gateway = settings_.gateway  # the SDK's documented gateway attribute
    return client


def _money(amount: Decimal) -> str:
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"amount must have two places, not {amount!r}")
    return f"{amount:.2f}"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return timezone.make_aware(datetime.strptime(value, "%Y-%m-%d %H:%M:%S"))


class AlipayChannel:
    name = "alipay"
    label = "支付宝"

    def __init__(self) -> None:
        self.conf = conf.alipay()
        self.client = _client(self.conf)

    def _api(self, method: str, biz: dict, **kwargs) -> dict:
        try:
            answer = self.client.server_api(method, biz, **kwargs)
        except AliPayValidationError:
            raise ProviderError("RESPONSE_SIGNATURE_INVALID", retryable=True) from None
        except AliPayException as exc:  # an unsigned error_response: our request was refused
            code = getattr(exc, "_AliPayException__code", "") or "UNKNOWN"  # the SDK keeps it name-mangled
            raise ProviderError(f"ALIPAY_{code}", "支付渠道拒绝了请求") from None
        except TimeoutError:
            raise ProviderError("TIMEOUT", "支付渠道响应超时，请稍后重试", retryable=True) from None
        except urllib.error.HTTPError as exc:
            raise ProviderError(f"HTTP_{exc.code}", retryable=exc.code >= 500) from None
        except (urllib.error.URLError, OSError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError | socket.timeout):
                raise ProviderError("TIMEOUT", "支付渠道响应超时，请稍后重试", retryable=True) from None
            raise ProviderError("UNREACHABLE", retryable=True) from None
        except ValueError:
            raise ProviderError("MALFORMED_ANSWER", retryable=True) from None
        if answer.get("code") != "10000":
            code = answer.get("sub_code") or answer.get("code", "UNKNOWN")
            raise ProviderError(code, answer.get("sub_msg") or answer.get("msg") or "支付渠道拒绝了请求",
                                retryable=answer.get("code") in RETRYABLE or code in RETRYABLE)
        return answer

    # --- orders ---------------------------------------------------------------------------------

    def create(self, *, out_trade_no: str, amount: Decimal, description: str, notify_url: str, return_url: str,
               client_ip: str, expires_at: datetime) -> Created:
        query = self.client.client_api(
            "alipay.trade.wap.pay",
            {"subject": description[:256], "out_trade_no": out_trade_no, "total_amount": _money(amount),
             "product_code": "QUICK_WAP_WAY", "quit_url": return_url,
             "time_expire": timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M:%S")},
            return_url=return_url, notify_url=notify_url,
        )
        return Created(pay_url=f"{self.conf.gateway}?{query}")

    def query(self, out_trade_no: str) -> Trade:
        try:
            answer = self._api("alipay.trade.query", {"out_trade_no": out_trade_no})
        except ProviderError as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":  # the payer has not opened the cashier yet
                return Trade(state="NOTFOUND", out_trade_no=out_trade_no)
            raise
        try:
            amount = yuan(answer["total_amount"])
        except (KeyError, ValueError):
            raise ProviderError("MALFORMED_ANSWER") from None
        return Trade(state=STATES.get(answer.get("trade_status"), "NOTPAY"), out_trade_no=out_trade_no,
                     transaction_id=answer.get("trade_no", ""), amount=amount,
                     paid_at=_time(answer.get("send_pay_date")), description=answer.get("trade_status", ""))

    def close(self, out_trade_no: str) -> None:
        try:
            self._api("alipay.trade.close", {"out_trade_no": out_trade_no})
        except ProviderError as exc:
            if exc.code != "ACQ.TRADE_NOT_EXIST":  # never opened by the payer: nothing to close
                raise

    # --- refunds --------------------------------------------------------------------------------

    def refund(self, *, out_trade_no: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str,
               notify_url: str) -> RefundResult:
        answer = self._api("alipay.trade.refund", {"out_trade_no": out_trade_no, "refund_amount": _money(amount),
                                                   "out_request_no": out_refund_no, "refund_reason": reason[:256]})
        return RefundResult(status="SUCCESS" if answer.get("fund_change") == "Y" else "PROCESSING",
                            out_refund_no=out_refund_no, refund_id=answer.get("trade_no", ""), amount=amount)

    def query_refund(self, *, out_trade_no: str, out_refund_no: str) -> RefundResult:
        answer = self._api("alipay.trade.fastpay.refund.query",
                           {"out_trade_no": out_trade_no, "out_request_no": out_refund_no})
        if answer.get("refund_status") == "REFUND_SUCCESS":
            return RefundResult(status="SUCCESS", out_refund_no=out_refund_no, refund_id=answer.get("trade_no", ""),
                                amount=yuan(answer["refund_amount"]))
        return RefundResult(status="PROCESSING", out_refund_no=out_refund_no)

    # --- notifications --------------------------------------------------------------------------

    def notification(self, headers, body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("malformed") from None
        signature = params.pop("sign", "")
        if params.get("sign_type") != "RSA2" or not signature:
            raise InvalidNotification("bad_signature")
        try:
            verified = self.client.verify(dict(params), signature)
        except (ValueError, TypeError, AliPayException):
            verified = False
        if not verified:
            raise InvalidNotification("bad_signature")
        if params.get("app_id") != self.conf.app_id:
            raise InvalidNotification("wrong_merchant")
        try:
            sent = _time(params.get("notify_time"))
        except ValueError:
            sent = None
        if sent is None or abs(time.time() - sent.timestamp()) > NOTIFICATION_MAX_AGE_SECONDS:
            raise InvalidNotification("stale")
        kind = params.get("notify_type", "")
        event_id = params.get("notify_id", "")
        try:
            if kind == "trade_status_sync":
                trade = Trade(state=STATES.get(params.get("trade_status", ""), "NOTPAY"),
                              out_trade_no=params["out_trade_no"], transaction_id=params["trade_no"],
                              amount=yuan(params["total_amount"]), paid_at=_time(params.get("gmt_payment")),
                              description=params.get("trade_status", ""))
                return Notification(kind="transaction", event_id=event_id, trade=trade,
                                    out_trade_no=trade.out_trade_no, raw=params)
            if kind in ("dut_user_sign", "dut_user_unsign"):
                contract = Contract(state="SIGNED" if params.get("status") == "NORMAL" else "TERMINATED",
                                    out_contract_code=params["external_agreement_no"],
                                    contract_id=params["agreement_no"])
                return Notification(kind="contract", event_id=event_id, contract=contract, raw=params)
        except ValueError:
            raise InvalidNotification("amount_invalid") from None
        except KeyError:
            raise InvalidNotification("malformed") from None
        raise InvalidNotification("malformed")

    @staticmethod
    def answer(accepted: bool, status: int = 400) -> tuple[int, str, bytes]:
        """Alipay reads the body only: ``success`` stops its retries, anything else continues them."""
        return 200, "text/plain; charset=utf-8", b"success" if accepted else b"fail"

    # --- reconciliation -------------------------------------------------------------------------

    def bill(self, day) -> list[BillRow]:
        try:
            answer = self._api("alipay.data.dataservice.bill.downloadurl.query",
                               {"bill_type": "trade", "bill_date": day.isoformat()})
        except ProviderError as exc:
            if exc.code == "isp.bill_not_exist":
                return []
            raise
        try:
            response = requests.get(answer["bill_download_url"], timeout=self.conf.timeout)
        except requests.Timeout:
            raise ProviderError("TIMEOUT", retryable=True) from None
        except requests.RequestException:
            raise ProviderError("UNREACHABLE", retryable=True) from None
        if response.status_code != 200:
            raise ProviderError(f"HTTP_{response.status_code}", retryable=True)
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                name = next(n for n in archive.namelist() if n.endswith("业务明细.csv"))
                text = archive.read(name).decode("gbk")
        except (zipfile.BadZipFile, StopIteration, UnicodeDecodeError):
            raise ProviderError("BILL_CORRUPT", "对账单无法读取") from None
        return parse_bill(text)

    # --- withholding (商户代扣) ------------------------------------------------------------------

    def contract_presign(self, *, out_contract_code: str, display_account: str, notify_url: str, return_url: str,
                         client_ip: str) -> str:
        query = self.client.client_api(
            "alipay.user.agreement.page.sign",
            {"personal_product_code": self.conf.agreement_product_code, "product_code": "GENERAL_WITHHOLDING",
             "sign_scene": "INDUSTRY|INSURANCE", "external_agreement_no": out_contract_code,
             "external_logon_id": display_account[:32], "access_params": {"channel": "ALIPAYAPP"}},
            return_url=return_url, notify_url=notify_url,
        )
        return f"{self.conf.gateway}?{query}"

    def contract_query(self, out_contract_code: str) -> Contract:
        try:
            answer = self._api("alipay.user.agreement.query", {
                "personal_product_code": self.conf.agreement_product_code, "sign_scene": "INDUSTRY|INSURANCE",
                "external_agreement_no": out_contract_code})
        except ProviderError as exc:
            if exc.code == "USER_AGREEMENT_NOT_EXIST":
                return Contract(state="UNSIGNED", out_contract_code=out_contract_code)
            raise
        return Contract(state="SIGNED" if answer.get("status") == "NORMAL" else "TERMINATED",
                        out_contract_code=out_contract_code, contract_id=answer.get("agreement_no", ""))

    def contract_terminate(self, *, out_contract_code: str, remark: str = "用户撤销自动续保") -> None:
        self._api("alipay.user.agreement.unsign", {
            "personal_product_code": self.conf.agreement_product_code, "sign_scene": "INDUSTRY|INSURANCE",
            "external_agreement_no": out_contract_code})

    def withhold(self, *, contract_id: str, out_trade_no: str, amount: Decimal, description: str,
                 notify_url: str) -> Trade:
        answer = self._api("alipay.trade.pay", {
            "out_trade_no": out_trade_no, "total_amount": _money(amount), "subject": description[:256],
            "product_code": "GENERAL_WITHHOLDING", "agreement_params": {"agreement_no": contract_id}},
            notify_url=notify_url)
        return Trade(state="SUCCESS", out_trade_no=out_trade_no, transaction_id=answer.get("trade_no", ""),
                     amount=yuan(answer["total_amount"]), paid_at=_time(answer.get("gmt_payment")))


def parse_bill(text: str) -> list[BillRow]:
    """Rows of Alipay's 业务明细: comment lines behind ``#``, a header, one row per trade or refund
    (refund amounts negative)."""
    rows = []
    reader = csv.reader(line for line in text.splitlines() if line and not line.startswith("#"))
    header = next(reader, None)
    if not header or header[0].strip() != "支付宝交易号":
        raise ProviderError("BILL_CORRUPT", "对账单格式无法识别")
    index = {name.strip(): i for i, name in enumerate(header)}
    for values in reader:
        try:
            kind = values[index["业务类型"]].strip()
            amount = yuan(values[index["订单金额（元）"]].strip().lstrip("-"))
            if kind == "退款":
                rows.append(BillRow(kind="refund", out_trade_no=values[index["商户订单号"]].strip(),
                                    transaction_id=values[index["支付宝交易号"]].strip(), amount=amount,
                                    out_refund_no=values[index["退款批次号/请求号"]].strip()))
            elif kind == "交易":
                rows.append(BillRow(kind="payment", out_trade_no=values[index["商户订单号"]].strip(),
                                    transaction_id=values[index["支付宝交易号"]].strip(), amount=amount))
        except (KeyError, IndexError, ValueError):
            raise ProviderError("BILL_CORRUPT", "对账单行无法识别") from None
    return rows

