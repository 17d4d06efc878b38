"""The payment provider simulator: the provider's side of a payment, like a real one.

A merchant creates a transaction, the payer pays on the cashier page (``/sim/pay/<transaction>/``),
and the provider sends a **signed asynchronous notification** to the merchant's ``notify_url``
(a Celery task, retried with back-off until the merchant answers 2xx). The merchant may also
query, close and refund, sign a withholding agreement and charge against it. The basic-insurance
personal account (``method="personal_account"``) debits the account owner's balance on the
simulated registry roster and refuses when it is short.

Signatures (requests to the API and notifications alike), modelled on WeChat Pay v3:
``X-Pay-Timestamp`` (Unix seconds), ``X-Pay-Nonce``, ``X-Pay-Serial`` and ``X-Pay-Signature`` =
base64 HMAC-SHA256(``PAYMENT_API_KEY``, ``"{timestamp}\\n{nonce}\\n{body}\\n"``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from portal.simulators.models import RosterEntry, SimAgreement, SimPayment, SimRefund

SERIAL = "SIM-KEY-1"


class ProviderError(Exception):
    """The provider refuses a request: ``code`` as a real provider would name it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def sign(key: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, key: str | None = None) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "X-Pay-Timestamp": timestamp,
        "X-Pay-Nonce": nonce,
        "X-Pay-Serial": SERIAL,
        "X-Pay-Signature": sign(key or settings.PAYMENT_API_KEY, timestamp, nonce, body),
    }


def _transaction_id() -> str:
    return "4200" + "".join(secrets.choice("0123456789") for _ in range(24))


def cashier_url(payment: SimPayment) -> str:
    return reverse("simulators:cashier", args=[payment.transaction_id])


@transaction.atomic
def create(*, merchant_id: str, out_trade_no: str, amount: Decimal, description: str, notify_url: str,
           return_url: str = "", method: str = "online", payer_hash: str = "") -> SimPayment:
    """Create (or, for the same out_trade_no, return) a transaction awaiting payment."""
    if amount <= 0:
        raise ProviderError("INVALID_AMOUNT", "金额必须大于0")
    payment, created = SimPayment.objects.get_or_create(
        merchant_id=merchant_id,
        out_trade_no=out_trade_no,
        defaults={
            "transaction_id": _transaction_id(),
            "method": method,
            "amount": amount,
            "description": description[:200],
            "notify_url": notify_url,
            "return_url": return_url,
            "payer_hash": payer_hash,
        },
    )
    if not created and payment.amount != amount:
        raise ProviderError("OUT_TRADE_NO_USED", "商户订单号重复")
    return payment


def _get(merchant_id: str, out_trade_no: str) -> SimPayment:
    payment = SimPayment.objects.select_for_update().filter(merchant_id=merchant_id, out_trade_no=out_trade_no).first()
    if payment is None:
        raise ProviderError("ORDER_NOT_EXIST", "订单不存在")
    return payment


@transaction.atomic
def pay(*, transaction_id: str) -> SimPayment:
    """The payer confirms on the cashier page (or a withholding charge goes through)."""
    payment = SimPayment.objects.select_for_update().get(transaction_id=transaction_id)
    if payment.state == SimPayment.SUCCESS:
        return payment
    if payment.state != SimPayment.NOTPAY:
        raise ProviderError("ORDER_CLOSED", "订单已关闭")
    if payment.method == "personal_account":
        debited = RosterEntry.objects.filter(id_hash=payment.payer_hash, account_balance__gte=payment.amount).update(
            account_balance=F("account_balance") - payment.amount
        )
        if not debited:
            raise ProviderError("NOT_ENOUGH", "医保个人账户余额不足")
    payment.state = SimPayment.SUCCESS
    payment.paid_at = timezone.now()
    payment.save(update_fields=["state", "paid_at"])
    transaction.on_commit(lambda: _enqueue_notification(payment.pk))
    return payment


def _enqueue_notification(payment_id: int) -> None:
    from portal.simulators.tasks import send_payment_notification

    send_payment_notification.delay(payment_id)


@transaction.atomic
def close(*, merchant_id: str, out_trade_no: str) -> SimPayment:
    payment = _get(merchant_id, out_trade_no)
    if payment.state == SimPayment.NOTPAY:
        payment.state = SimPayment.CLOSED
        payment.save(update_fields=["state"])
    return payment


def query(*, merchant_id: str, out_trade_no: str) -> SimPayment:
    payment = SimPayment.objects.filter(merchant_id=merchant_id, out_trade_no=out_trade_no).first()
    if payment is None:
        raise ProviderError("ORDER_NOT_EXIST", "订单不存在")
    return payment


@transaction.atomic
def refund(*, merchant_id: str, out_trade_no: str, out_refund_no: str, amount: Decimal) -> SimRefund:
    """Refund (full or partial), idempotent on out_refund_no; never more than was paid."""
    payment = _get(merchant_id, out_trade_no)
    existing = payment.refunds.filter(out_refund_no=out_refund_no).first()
    if existing:
        return existing
    if payment.state not in (SimPayment.SUCCESS, SimPayment.REFUND):
        raise ProviderError("TRADE_STATE_ERROR", "订单未支付，不能退款")
    refunded = sum((r.amount for r in payment.refunds.all()), Decimal("0.00"))
    if amount <= 0 or refunded + amount > payment.amount:
        raise ProviderError("INVALID_REFUND_AMOUNT", "退款金额超过可退金额")
    if payment.method == "personal_account":
        RosterEntry.objects.filter(id_hash=payment.payer_hash).update(account_balance=F("account_balance") + amount)
    payment.state = SimPayment.REFUND
    payment.save(update_fields=["state"])
    return SimRefund.objects.create(
        payment=payment, out_refund_no=out_refund_no, refund_id="5030" + _transaction_id()[4:], amount=amount
    )


def sign_agreement(*, merchant_id: str, contract_code: str, payer_hash: str) -> SimAgreement:
    return SimAgreement.objects.create(
        merchant_id=merchant_id, agreement_no="AG" + _transaction_id(), contract_code=contract_code,
        payer_hash=payer_hash,
    )


def terminate_agreement(*, merchant_id: str, agreement_no: str) -> None:
    SimAgreement.objects.filter(merchant_id=merchant_id, agreement_no=agreement_no, state="ACTIVE").update(
        state="TERMINATED", terminated_at=timezone.now()
    )


def withhold(*, merchant_id: str, agreement_no: str, out_trade_no: str, amount: Decimal, description: str,
             notify_url: str) -> SimPayment:
    agreement = SimAgreement.objects.filter(merchant_id=merchant_id, agreement_no=agreement_no).first()
    if agreement is None or agreement.state != "ACTIVE":
        raise ProviderError("AGREEMENT_INVALID", "代扣协议不存在或已解约")
    payment = create(merchant_id=merchant_id, out_trade_no=out_trade_no, amount=amount, description=description,
                     notify_url=notify_url, method="withholding", payer_hash=agreement.payer_hash)
    payment.agreement_no = agreement_no
    payment.save(update_fields=["agreement_no"])
    return pay(transaction_id=payment.transaction_id)


def trade_json(payment: SimPayment) -> dict:
    return {
        "out_trade_no": payment.out_trade_no,
        "transaction_id": payment.transaction_id,
        "amount": str(payment.amount),
        "state": payment.state,
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
    }


def notification(payment: SimPayment) -> tuple[dict[str, str], bytes]:
    """The signed notification the provider sends for a paid transaction."""
    body = json.dumps({"event_type": "TRANSACTION.SUCCESS", "resource": trade_json(payment)}).encode()
    return {"Content-Type": "application/json", **signed_headers(body)}, body


def deliver(payment_id: int) -> str:
    """POST the notification to the merchant; returns the outcome recorded on the transaction."""
    payment = SimPayment.objects.filter(pk=payment_id).first()
    if payment is None:
        return "missing"
    headers, body = notification(payment)
    request = urllib.request.Request(payment.notify_url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            outcome = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        outcome = f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        outcome = f"unreachable: {type(exc).__name__}"
    SimPayment.objects.filter(pk=payment_id).update(
        notify_attempts=F("notify_attempts") + 1, last_notify_status=outcome
    )
    return outcome
