"""WeChat Pay API v3, merchant side, through the ``wechatpayv3`` SDK.

- Requests are signed by the SDK (``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
  signature=…,timestamp=…,serial_no=…`` over ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n`` with the
  merchant's private key); every 2xx answer's ``Wechatpay-Signature`` is verified by the SDK with
  WeChat Pay's platform public key ("微信支付公钥" mode: ``Wechatpay-Serial`` is its ``PUB_KEY_ID_…``).
- Orders: H5 (``/v3/pay/transactions/h5``; the payer goes to ``h5_url`` + ``redirect_url``).
  JSAPI needs the payer's openid from WeChat's OAuth, which the portal does not run (README).
- Notifications: headers ``Wechatpay-Timestamp/-Nonce/-Signature/-Serial``; the serial must be the
  configured public key ID, the timestamp within five minutes, the signature valid, and the
  ``resource`` must decrypt with AEAD_AES_256_GCM under the APIv3 key. Answer: 204 with no body,
  or 4xx/5xx with ``{"code": "FAIL", "message": …}`` so that WeChat Pay retries.
- Amounts: integer fen (``amount.total``) on the wire, ``Decimal`` yuan everywhere else.
- Withholding (委托代扣, v3 ``/v3/papay/…``): H5 pre-sign, contract query and termination by the
  merchant's contract code, and ``/v3/papay/pay/transactions/apply`` (accepted, then notified).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from urllib.parse import quote, urlencode

import requests
from django.utils import timezone
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.type import RequestType
from wechatpayv3.utils import load_public_key, rsa_verify

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
    from_fen,
    to_fen,
    yuan,
)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
RETRYABLE = {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANKERROR", "SYSTEMERROR"}


@lru_cache(maxsize=4)
def _client(settings_: conf.WeChatPayConf) -> WeChatPay:
    client = WeChatPay(
        wechatpay_type=WeChatPayType.H5, mchid=settings_.mchid, private_key=settings_.private_key,
        cert_serial_no=settings_.serial_no, appid=settings_.appid, apiv3_key=settings_.apiv3_key,
        public_key=settings_.public_key, public_key_id=settings_.public_key_id,
        timeout=(min(3.0, settings_.timeout), settings_.timeout),
    )
    client._core._gate_way = settings_.base_url  # the SDK's documented gateway attribute
    return client


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _rfc3339(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


class WeChatPayChannel:
    name = "wechatpay"
    label = "微信支付"

    def __init__(self) -> None:
        self.conf = conf.wechatpay()
        self.client = _client(self.conf)

    # --- transport ------------------------------------------------------------------------------

    def _call(self, function, *args, **kwargs) -> tuple[int, dict | bytes]:
        try:
            status, text = function(*args, **kwargs)
        except requests.Timeout:
            raise ProviderError("TIMEOUT", "支付渠道响应超时，请稍后重试", retryable=True) from None
        except requests.RequestException:
            raise ProviderError("UNREACHABLE", retryable=True) from None
        except Exception as exc:  # the SDK raises a bare Exception when an answer's signature fails
            if "verify the signature" in str(exc):
                raise ProviderError("RESPONSE_SIGNATURE_INVALID", retryable=True) from None
            raise
        if isinstance(text, bytes):
            if status >= 300:
                raise ProviderError(f"HTTP_{status}", retryable=status >= 500)
            return status, text
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            raise ProviderError(f"HTTP_{status}", retryable=status >= 500) from None
        if status >= 400:
            code = data.get("code", f"HTTP_{status}")
            raise ProviderError(code, data.get("message") or "支付渠道拒绝了请求",
                                retryable=status >= 500 or code in RETRYABLE)
        return status, data

    def _request(self, path: str, method=RequestType.GET, data=None):
        return self._call(self.client._core.request, path, method=method, data=data)

    # --- orders ---------------------------------------------------------------------------------

    def create(self, *, out_trade_no: str, amount: Decimal, description: str, notify_url: str, return_url: str,
               client_ip: str, expires_at: datetime) -> Created:
        _, data = self._call(
            self.client.pay, description=description[:127], out_trade_no=out_trade_no,
            amount={"total": to_fen(amount), "currency": "CNY"}, time_expire=_rfc3339(expires_at),
            notify_url=notify_url, scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}},
            pay_type=WeChatPayType.H5,
        )
        h5_url = data.get("h5_url")
        if not h5_url:
            raise ProviderError("MALFORMED_ANSWER")
        joiner = "&" if "?" in h5_url else "?"
        return Created(pay_url=f"{h5_url}{joiner}{urlencode({'redirect_url': return_url})}")

    def _trade(self, data: dict) -> Trade:
        try:
            amount = from_fen(data["amount"]["total"]) if data.get("amount") else None
        except (ValueError, TypeError, KeyError):
            raise ProviderError("MALFORMED_ANSWER", "支付渠道返回的金额无法识别") from None
        return Trade(state=data.get("trade_state", ""), out_trade_no=data.get("out_trade_no", ""),
                     transaction_id=data.get("transaction_id", ""), amount=amount,
                     paid_at=_time(data.get("success_time")), description=data.get("trade_state_desc", ""))

    def query(self, out_trade_no: str) -> Trade:
        try:
            _, data = self._call(self.client.query, out_trade_no=out_trade_no)
        except ProviderError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return Trade(state="NOTFOUND", out_trade_no=out_trade_no)
            raise
        return self._trade(data)

    def close(self, out_trade_no: str) -> None:
        self._call(self.client.close, out_trade_no=out_trade_no)

    # --- refunds --------------------------------------------------------------------------------

    @staticmethod
    def _refund(data: dict) -> RefundResult:
        try:
            amount = from_fen(data["amount"]["refund"]) if data.get("amount") else None
        except (ValueError, TypeError, KeyError):
            raise ProviderError("MALFORMED_ANSWER") from None
        return RefundResult(status=data.get("status") or data.get("refund_status", ""),
                            out_refund_no=data.get("out_refund_no", ""), refund_id=data.get("refund_id", ""),
                            amount=amount)

    def refund(self, *, out_trade_no: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str,
               notify_url: str) -> RefundResult:
        _, data = self._call(
            self.client.refund, out_refund_no=out_refund_no, out_trade_no=out_trade_no, reason=reason[:80],
            amount={"refund": to_fen(amount), "total": to_fen(total), "currency": "CNY"}, notify_url=notify_url,
        )
        return self._refund(data)

    def query_refund(self, *, out_trade_no: str, out_refund_no: str) -> RefundResult:
        _, data = self._call(self.client.query_refund, out_refund_no=out_refund_no)
        return self._refund(data)

    # --- notifications --------------------------------------------------------------------------

    def notification(self, headers, body: bytes) -> Notification:
        """Verify and decrypt a notification (payment, refund, withholding contract)."""
        text = body.decode("utf-8", errors="replace")
        serial = headers.get("Wechatpay-Serial", "")
        timestamp = headers.get("Wechatpay-Timestamp", "")
        if serial != self.conf.public_key_id:
            raise InvalidNotification("wrong_serial")
        if headers.get("Wechatpay-Signature-Type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise InvalidNotification("bad_signature")
        if not rsa_verify(timestamp, headers.get("Wechatpay-Nonce", ""), text, headers.get("Wechatpay-Signature", ""),
                          load_public_key(self.conf.public_key)):
            raise InvalidNotification("bad_signature")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > NOTIFICATION_MAX_AGE_SECONDS:
            raise InvalidNotification("stale")
        try:
            data = self.client.callback(headers, text)
        except (ValueError, TypeError, KeyError):
            raise InvalidNotification("malformed") from None
        except Exception:  # an algorithm other than AEAD_AES_256_GCM
            raise InvalidNotification("undecryptable") from None
        if not data:
            raise InvalidNotification("undecryptable")
        resource = data.get("resource")
        if not isinstance(resource, dict):
            raise InvalidNotification("malformed")
        event = data.get("event_type", "")
        event_id = str(data.get("id", ""))
        if resource.get("mchid", self.conf.mchid) != self.conf.mchid:
            raise InvalidNotification("wrong_merchant")
        try:
            if event.startswith("TRANSACTION."):
                if resource.get("appid", self.conf.appid) != self.conf.appid:
                    raise InvalidNotification("wrong_merchant")
                total = resource["amount"]["total"]
                trade = Trade(state=resource["trade_state"], out_trade_no=resource["out_trade_no"],
                              transaction_id=resource["transaction_id"], amount=from_fen(total),
                              paid_at=_time(resource.get("success_time")),
                              description=resource.get("trade_state_desc", ""))
                return Notification(kind="transaction", event_id=event_id, trade=trade,
                                    out_trade_no=trade.out_trade_no, raw=resource)
            if event.startswith("REFUND."):
                refund = RefundResult(status=resource["refund_status"], out_refund_no=resource["out_refund_no"],
                                      refund_id=resource["refund_id"], amount=from_fen(resource["amount"]["refund"]))
                return Notification(kind="refund", event_id=event_id, refund=refund,
                                    out_trade_no=resource["out_trade_no"], raw=resource)
            if event.startswith("PAPAY."):
                contract = Contract(state=resource["contract_state"], out_contract_code=resource["out_contract_code"],
                                    contract_id=resource["contract_id"])
                return Notification(kind="contract", event_id=event_id, contract=contract, raw=resource)
        except ValueError:
            raise InvalidNotification("amount_invalid") from None
        except (KeyError, TypeError):
            raise InvalidNotification("malformed") from None
        raise InvalidNotification("malformed")

    @staticmethod
    def answer(accepted: bool, status: int = 400) -> tuple[int, str, bytes]:
        """204 with no body when taken; otherwise ``status`` with FAIL, and WeChat Pay retries."""
        if accepted:
            return 204, "", b""
        return status, "application/json", json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()

    # --- reconciliation -------------------------------------------------------------------------

    def bill(self, day) -> list[BillRow]:
        """The trade bill (交易账单) of ``day``: applied for, downloaded, checked against its SHA1."""
        try:
            _, data = self._call(self.client.trade_bill, bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
        except ProviderError as exc:
            if exc.code == "NO_STATEMENT_EXIST":
                return []
            raise
        _, content = self._call(self.client.download_bill, data["download_url"])
        if isinstance(content, dict):
            raise ProviderError("MALFORMED_ANSWER")
        try:
            text = gzip.decompress(content)
        except (OSError, EOFError):
            raise ProviderError("BILL_CORRUPT", "对账单无法解压") from None
        if data.get("hash_type") == "SHA1" and hashlib.sha1(text).hexdigest() != data.get("hash_value"):
            raise ProviderError("BILL_CORRUPT", "对账单摘要不符")
        return parse_bill(text.decode("utf-8"))

    # --- withholding (委托代扣) ------------------------------------------------------------------

    def contract_presign(self, *, out_contract_code: str, display_account: str, notify_url: str, return_url: str,
                         client_ip: str) -> str:
        _, data = self._request("/v3/papay/sign/contracts/pre-entrust-sign/h5", RequestType.POST, {
            "appid": self.conf.appid, "plan_id": int(self.conf.plan_id), "out_contract_code": out_contract_code,
            "contract_display_account": display_account[:32], "contract_notify_url": notify_url,
            "user_client_ip": client_ip or "127.0.0.1", "return_url": return_url,
        })
        if not data.get("redirect_url"):
            raise ProviderError("MALFORMED_ANSWER")
        return data["redirect_url"]

    def contract_query(self, out_contract_code: str) -> Contract:
        path = (f"/v3/papay/sign/contracts/plan-id/{self.conf.plan_id}/out-contract-code/"
                f"{quote(out_contract_code)}?appid={self.conf.appid}")
        try:
            _, data = self._request(path)
        except ProviderError as exc:
            if exc.code in ("RESOURCE_NOT_EXISTS", "NOT_FOUND", "CONTRACT_NOT_EXIST"):
                return Contract(state="UNSIGNED", out_contract_code=out_contract_code)
            raise
        return Contract(state=data.get("contract_state", ""), out_contract_code=out_contract_code,
                        contract_id=data.get("contract_id", ""))

    def contract_terminate(self, *, out_contract_code: str, remark: str = "用户撤销自动续保") -> None:
        path = (f"/v3/papay/sign/contracts/plan-id/{self.conf.plan_id}/out-contract-code/"
                f"{quote(out_contract_code)}/terminate")
        self._request(path, RequestType.POST, {"appid": self.conf.appid, "contract_termination_remark": remark})

    def withhold(self, *, contract_id: str, out_trade_no: str, amount: Decimal, description: str,
                 notify_url: str) -> Trade:
        """Ask for a charge; WeChat Pay accepts it and notifies the result (the trade is queried too)."""
        self._request("/v3/papay/pay/transactions/apply", RequestType.POST, {
            "appid": self.conf.appid, "out_trade_no": out_trade_no, "description": description[:127],
            "transaction_notify_url": notify_url, "contract_id": contract_id,
            "amount": {"total": to_fen(amount), "currency": "CNY"},
        })
        return self.query(out_trade_no)


BILL_COLUMNS = ["交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识",
                "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号",
                "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率",
                "订单金额", "申请退款金额", "费率备注"]


def parse_bill(text: str) -> list[BillRow]:
    """Rows of a WeChat Pay trade bill: a header line, one line per trade or refund with every value
    behind a backquote, then a summary headed 总交易单数."""
    lines = text.splitlines()
    if not lines or lines[0].split(",")[: len(BILL_COLUMNS)] != BILL_COLUMNS:
        raise ProviderError("BILL_CORRUPT", "对账单格式无法识别")
    rows = []
    for line in lines[1:]:
        if line.startswith("总交易单数"):
            break
        values = dict(zip(BILL_COLUMNS, (v.lstrip("`") for v in line.split(",")), strict=False))
        try:
            if values["交易状态"] == "REFUND":
                rows.append(BillRow(kind="refund", out_trade_no=values["商户订单号"], transaction_id=values["微信订单号"],
                                    amount=yuan(values["退款金额"]), out_refund_no=values["商户退款单号"],
                                    refund_id=values["微信退款单号"]))
            else:
                rows.append(BillRow(kind="payment", out_trade_no=values["商户订单号"],
                                    transaction_id=values["微信订单号"], amount=yuan(values["订单金额"])))
        except (KeyError, ValueError):
            raise ProviderError("BILL_CORRUPT", "对账单行无法识别") from None
    return rows
