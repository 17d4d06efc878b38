"""The payment-provider adapter (merchant side).

Interface, whichever provider stands behind it:

- ``create(out_trade_no, amount, description, notify_url, return_url, method, payer_id_number)``
  → ``CreatedPayment(pay_url, transaction_id)``: the payer is sent to ``pay_url``;
- ``query(out_trade_no)`` → ``TradeState(state, transaction_id, amount, paid_at)``, state one of
  ``NOTPAY``, ``SUCCESS``, ``CLOSED``, ``REFUND``;
- ``close(out_trade_no)``; ``refund(out_trade_no, out_refund_no, amount)`` → refund id;
- ``sign_agreement(contract_code, payer_id_number)`` → agreement number, ``terminate_agreement``,
  ``withhold(agreement_no, out_trade_no, amount, description, notify_url)``;
- ``verify_notification(headers, body)`` → ``Notification`` or ``InvalidNotification(code)``.

Signatures: ``X-Pay-Timestamp``, ``X-Pay-Nonce``, ``X-Pay-Serial``, ``X-Pay-Signature`` = base64
HMAC-SHA256(``PAYMENT_API_KEY``, ``"{timestamp}\\n{nonce}\\n{body}\\n"``) on requests and on
notifications; a notification older than five minutes is refused as stale.

Backends (``settings.PAYMENT_BACKEND``): ``simulator`` calls the local provider simulator
(``portal.simulators.payment``) in-process; ``http`` calls a provider's API at
``PAYMENT_API_URL`` (``/v1/create``, ``/v1/query``, ``/v1/close``, ``/v1/refund``,
``/v1/agreement``, ``/v1/agreement-terminate``, ``/v1/withhold``: signed JSON, answers
``{"code": "SUCCESS", ...}``). The simulator serves that same API at ``/sim/pay/api``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.crypto import constant_time_compare

from portal import crypto
from portal.simulators import payment as simulator

STALE_SECONDS = 300


class PaymentProviderError(Exception):
    def __init__(self, code: str, message: str = "支付渠道暂时不可用，请稍后重试"):
        super().__init__(message)
        self.code, self.message = code, message


class InvalidNotification(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CreatedPayment:
    pay_url: str
    transaction_id: str


@dataclass(frozen=True)
class TradeState:
    state: str
    transaction_id: str
    amount: Decimal
    paid_at: datetime | None


@dataclass(frozen=True)
class VerifiedNotification:
    out_trade_no: str
    transaction_id: str
    amount: Decimal
    state: str
    paid_at: datetime | None


def _trade(data: dict) -> TradeState:
    return TradeState(
        state=data["state"],
        transaction_id=data["transaction_id"],
        amount=Decimal(data["amount"]),
        paid_at=datetime.fromisoformat(data["paid_at"]) if data.get("paid_at") else None,
    )


def verify_notification(headers, body: bytes) -> VerifiedNotification:
    """Check the signature and freshness of a provider notification and read it."""
    timestamp = headers.get("X-Pay-Timestamp", "")
    nonce = headers.get("X-Pay-Nonce", "")
    expected = simulator.sign(settings.PAYMENT_API_KEY, timestamp, nonce, body)
    if not constant_time_compare(expected, headers.get("X-Pay-Signature", "")):
        raise InvalidNotification("bad_signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > STALE_SECONDS:
        raise InvalidNotification("stale")
    try:
        resource = json.loads(body)["resource"]
        return VerifiedNotification(
            out_trade_no=resource["out_trade_no"],
            transaction_id=resource["transaction_id"],
            amount=Decimal(resource["amount"]),
            state=resource["state"],
            paid_at=datetime.fromisoformat(resource["paid_at"]) if resource.get("paid_at") else None,
        )
    except (ValueError, KeyError, TypeError, InvalidOperation):
        raise InvalidNotification("malformed") from None


class SimulatorProvider:
    name = "simulator"

    def __init__(self) -> None:
        self.merchant = settings.PAYMENT_MERCHANT_ID

    def _call(self, function, **kwargs):
        try:
            return function(merchant_id=self.merchant, **kwargs)
        except simulator.ProviderError as exc:
            raise PaymentProviderError(exc.code, exc.message) from None

    def create(self, *, out_trade_no, amount, description, notify_url, return_url, method, payer_id_number=None):
        trade = self._call(
            simulator.create, out_trade_no=out_trade_no, amount=amount, description=description,
            notify_url=notify_url, return_url=return_url, method=method,
            payer_hash=crypto.blind_index(payer_id_number) if payer_id_number else "",
        )
        return CreatedPayment(pay_url=simulator.cashier_url(trade), transaction_id=trade.transaction_id)

    def query(self, out_trade_no) -> TradeState:
        return _trade(simulator.trade_json(self._call(simulator.query, out_trade_no=out_trade_no)))

    def close(self, out_trade_no) -> None:
        self._call(simulator.close, out_trade_no=out_trade_no)

    def refund(self, *, out_trade_no, out_refund_no, amount) -> str:
        return self._call(simulator.refund, out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                          amount=amount).refund_id

    def sign_agreement(self, *, contract_code, payer_id_number) -> str:
        return self._call(simulator.sign_agreement, contract_code=contract_code,
                          payer_hash=crypto.blind_index(payer_id_number)).agreement_no

    def terminate_agreement(self, *, agreement_no) -> None:
        self._call(simulator.terminate_agreement, agreement_no=agreement_no)

    def withhold(self, *, agreement_no, out_trade_no, amount, description, notify_url) -> TradeState:
        trade = self._call(simulator.withhold, agreement_no=agreement_no, out_trade_no=out_trade_no, amount=amount,
                           description=description, notify_url=notify_url)
        return _trade(simulator.trade_json(trade))


class HttpProvider:
    """The same interface over a provider's HTTP API (signed JSON requests)."""

    name = "http"

    def _call(self, action: str, payload: dict) -> dict:
        body = json.dumps(payload, ensure_ascii=False).encode()
        request = urllib.request.Request(
            f"{settings.PAYMENT_API_URL.rstrip('/')}/v1/{action}/", data=body, method="POST",
            headers={"Content-Type": "application/json", **simulator.signed_headers(body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read().decode())
            except ValueError:
                raise PaymentProviderError(f"HTTP_{exc.code}") from None
            raise PaymentProviderError(answer.get("code", f"HTTP_{exc.code}"), answer.get("message", "")) from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise PaymentProviderError("UNREACHABLE") from exc
        if answer.get("code") != "SUCCESS":
            raise PaymentProviderError(answer.get("code", "UNKNOWN"), answer.get("message", ""))
        return answer

    def create(self, *, out_trade_no, amount, description, notify_url, return_url, method, payer_id_number=None):
        answer = self._call("create", {
            "out_trade_no": out_trade_no, "amount": str(amount), "description": description,
            "notify_url": notify_url, "return_url": return_url, "method": method,
            "payer_hash": crypto.blind_index(payer_id_number) if payer_id_number else "",
        })
        return CreatedPayment(pay_url=answer["pay_url"], transaction_id=answer["transaction_id"])

    def query(self, out_trade_no) -> TradeState:
        return _trade(self._call("query", {"out_trade_no": out_trade_no}))

    def close(self, out_trade_no) -> None:
        self._call("close", {"out_trade_no": out_trade_no})

    def refund(self, *, out_trade_no, out_refund_no, amount) -> str:
        return self._call("refund", {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
                                     "amount": str(amount)})["refund_id"]

    def sign_agreement(self, *, contract_code, payer_id_number) -> str:
        return self._call("agreement", {"contract_code": contract_code,
                                        "payer_hash": crypto.blind_index(payer_id_number)})["agreement_no"]

    def terminate_agreement(self, *, agreement_no) -> None:
        self._call("agreement-terminate", {"agreement_no": agreement_no})

    def withhold(self, *, agreement_no, out_trade_no, amount, description, notify_url) -> TradeState:
        return _trade(self._call("withhold", {"agreement_no": agreement_no, "out_trade_no": out_trade_no,
                                              "amount": str(amount), "description": description,
                                              "notify_url": notify_url}))


def provider():
    return HttpProvider() if settings.PAYMENT_BACKEND == "http" else SimulatorProvider()
