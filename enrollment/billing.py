"""Payments of orders: start, apply the provider's notification once, expire, reconcile, refund.

Invariant 2 (domain.md): a provider's transaction is applied once — the order row is locked, the
state change is conditional, and ``(provider, transaction_id)`` is unique on ``Payment``.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from enrollment import cover, payments
from enrollment.models import (
    CLOSE_RELATIONS,
    Order,
    Payment,
    PaymentMethod,
    PaymentNotification,
    Policy,
    Refund,
)
from portal import sms

logger = logging.getLogger(__name__)


class PaymentRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _provider_name(method: str) -> str:
    return "medical_account" if method == PaymentMethod.PERSONAL_ACCOUNT else payments.provider().name


def payment_start(*, order: Order, method: str, return_url: str | None = None) -> Payment:
    """A new payment attempt for a pending order; the payer goes to ``payment.pay_url`` and comes
    back to ``return_url`` (the page the payer came from; by default on ``PUBLIC_BASE_URL``)."""
    if method not in (PaymentMethod.ONLINE, PaymentMethod.PERSONAL_ACCOUNT):
        raise PaymentRefused("method_invalid", "请选择支付方式。")
    order = Order.objects.select_related("version__program", "resident__person").get(pk=order.pk)
    if order.status != Order.PENDING:
        raise PaymentRefused("order_not_pending", f"订单{order.get_status_display()}，不能支付。")
    if order.expires_at <= timezone.now():
        raise PaymentRefused("order_expired", "订单已超过支付时限，请重新投保。")
    payer = None
    if method == PaymentMethod.PERSONAL_ACCOUNT:
        if not order.version.program.personal_account_payment:
            raise PaymentRefused("method_not_offered", f"{order.version.program}不支持医保个人账户支付。")
        relations = set(order.policies.values_list("relation", flat=True))
        if not relations <= set(CLOSE_RELATIONS):
            raise PaymentRefused(
                "relation_not_allowed", "医保个人账户只能为本人及配偶、父母、子女支付，请为其他人员选择在线支付。"
            )
        payer = order.resident.person.id_number
    attempt = order.payments.count() + 1
    out_trade_no = f"{order.number}P{attempt}"
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    try:
        created = payments.provider().create(
            out_trade_no=out_trade_no,
            amount=order.amount,
            description=f"{order.version.name} 订单{order.number}",
            notify_url=base + reverse("enrollment:pay_notify", args=[payments.provider().name]),
            return_url=return_url or base + reverse("enrollment:order_return", args=[order.number]),
            method=method,
            payer_id_number=payer,
        )
    except payments.PaymentProviderError as exc:
        raise PaymentRefused("provider_unavailable", exc.message) from None
    return Payment.objects.create(
        order=order,
        provider=_provider_name(method),
        method=method,
        out_trade_no=out_trade_no,
        amount=order.amount,
        pay_url=created.pay_url,
    )


def _apply(*, out_trade_no: str, transaction_id: str, amount: Decimal, paid_at) -> str:
    """Apply a successful provider transaction once. Returns an outcome code."""
    with transaction.atomic():
        payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
        if payment is None:
            return "unknown_order"
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        payment.refresh_from_db()
        if payment.status == Payment.SUCCEEDED:
            return "replay" if payment.transaction_id == transaction_id else "conflict"
        if amount != payment.amount:
            return "amount_mismatch"
        payment.transaction_id = transaction_id
        payment.status = Payment.SUCCEEDED
        payment.succeeded_at = paid_at or timezone.now()
        payment.save(update_fields=["transaction_id", "status", "succeeded_at"])
        if order.status != Order.PENDING:
            # Money arrived for an order that expired or was cancelled meanwhile: give it back.
            transaction.on_commit(lambda: _refund_payment(payment, reason="订单已关闭，自动退款"))
            return "refunded_late"
        order.mark_paid()
        order.paid_at = payment.succeeded_at
        order.save(update_fields=["status", "paid_at"])
        now = timezone.now()
        policies = list(order.policies.select_related("person"))
        start = cover.start_for(version=order.version, paid_on=timezone.localdate(payment.succeeded_at))
        for policy in policies:
            policy.activate()
            policy.activated_at = now
            policy.coverage_start = max(policy.coverage_start, start)  # never earlier than written
        Policy.objects.bulk_update(policies, ["status", "activated_at", "coverage_start"])
        cover.policies_activated(policy_ids=[p.pk for p in policies])
        if order.organization_id or order.campaign_id:
            from enrollment import lists

            lists.list_issued(order=order)  # each beneficiary is told, not the buyer
            return "applied"
        phone = order.resident.phone if order.resident_id else None
        if phone:
            for policy in policies:
                transaction.on_commit(
                    lambda p=policy: sms.send(phone=phone, template="policy_issued", name=p.person.name,
                                              product=order.version.name, policy=p.number)
                )
        return "applied"


def bank_transfer_confirm(*, order: Order, reference: str, amount: Decimal, user, received_on=None) -> str:
    """Staff confirm an organization's bank transfer: applied once per bank reference, like a
    provider's notification (the amount must match the order). ``received_on`` is the day the
    money arrived (the statement's value date; today by default): cover is counted from it, not
    from the day staff got round to confirming. Returns the outcome code."""
    reference = reference.strip()
    if not reference:
        raise PaymentRefused("reference_required", "请填写银行流水号。")
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today or received_on < timezone.localdate(order.created_at):
        raise PaymentRefused("received_on_invalid", "到账日期应在下单日期与今天之间，请按银行回单填写。")
    paid_at = timezone.now() if received_on == today else timezone.make_aware(
        datetime.combine(received_on, time(23, 59, 59)))
    if amount != order.amount:
        raise PaymentRefused("amount_mismatch", f"到账金额{amount}元与订单金额{order.amount}元不一致，请核对。")
    existing = Payment.objects.filter(provider="bank", transaction_id=reference).first()
    if existing is not None:
        return "replay" if existing.order_id == order.pk else "conflict"
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != Order.PENDING:
            raise PaymentRefused("order_not_pending", f"订单{locked.get_status_display()}，不能确认到账。")
        out_trade_no = f"{locked.number}B{locked.payments.count() + 1}"
        Payment.objects.create(order=locked, provider="bank", method=PaymentMethod.BANK_TRANSFER,
                               out_trade_no=out_trade_no, amount=amount)
    outcome = _apply(out_trade_no=out_trade_no, transaction_id=reference, amount=amount, paid_at=paid_at)
    logger.info("bank transfer %s for order %s confirmed by %s: %s", reference[-4:], order.number, user, outcome)
    return outcome


def notification_handle(*, provider: str, headers, body: bytes) -> tuple[int, str]:
    """A provider notification: every one is recorded; valid ones are applied once."""
    record = PaymentNotification(provider=provider, headers={k: v for k, v in headers.items() if k.startswith("X-Pay")},
                                 body=body.decode("utf-8", errors="replace")[:10000])
    try:
        note = payments.verify_notification(headers, body)
    except payments.InvalidNotification as exc:
        record.outcome = exc.code
        record.save()
        logger.warning("payment notification refused: %s", exc.code)
        return 401 if exc.code in ("bad_signature", "stale") else 400, exc.code
    if note.state != "SUCCESS":
        record.outcome, record.accepted = "ignored_state", True
        record.save()
        return 200, record.outcome
    outcome = _apply(out_trade_no=note.out_trade_no, transaction_id=note.transaction_id, amount=note.amount,
                     paid_at=note.paid_at)
    record.outcome = outcome
    record.accepted = outcome in ("applied", "replay", "refunded_late")
    record.payment = Payment.objects.filter(out_trade_no=note.out_trade_no).first()
    record.save()
    if not record.accepted:
        logger.warning("payment notification for %s refused: %s", note.out_trade_no, outcome)
        return 400, outcome
    return 200, outcome


def order_refresh(*, order: Order) -> str:
    """Ask the provider about the order's open payments (the return page's poll, reconciliation)."""
    outcome = "pending"
    for payment in order.payments.filter(status=Payment.CREATED):
        try:
            trade = _provider_for(payment).query(payment.out_trade_no)
        except payments.PaymentProviderError:
            continue
        if trade.state == "SUCCESS":
            outcome = _apply(out_trade_no=payment.out_trade_no, transaction_id=trade.transaction_id,
                             amount=trade.amount, paid_at=trade.paid_at)
    return outcome


def _provider_for(payment: Payment):
    return payments.provider()


def orders_expire(*, now=None) -> int:
    """Pending orders past their time: paid ones are applied, unpaid are closed and release people."""
    now = now or timezone.now()
    expired = 0
    for order in Order.objects.filter(status=Order.PENDING, expires_at__lte=now):
        order_refresh(order=order)
        for payment in order.payments.filter(status=Payment.CREATED):
            try:
                _provider_for(payment).close(payment.out_trade_no)
            except payments.PaymentProviderError:
                pass
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if locked.status != Order.PENDING:
                continue
            locked.expire()
            locked.closed_at = now
            locked.save(update_fields=["status", "closed_at"])
            Payment.objects.filter(order=locked, status=Payment.CREATED).update(status=Payment.CLOSED)
            Policy.objects.filter(order=locked, status=Policy.PENDING).update(status=Policy.EXPIRED)
            expired += 1
    return expired


def orders_reconcile(*, older_than_seconds: int = 120) -> int:
    """Ask the provider about orders left pending (a lost notification must not lose a payment)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    applied = 0
    for order in Order.objects.filter(status=Order.PENDING, created_at__lte=cutoff):
        if order_refresh(order=order) == "applied":
            applied += 1
    return applied


def _refund_payment(payment: Payment, *, reason: str, amount: Decimal | None = None) -> Refund:
    amount = payment.amount if amount is None else amount
    number = f"{payment.out_trade_no}R{payment.refunds.count() + 1}"
    refund = Refund.objects.create(payment=payment, out_refund_no=number, amount=amount, reason=reason)
    _provider_for(payment).refund(out_trade_no=payment.out_trade_no, out_refund_no=number, amount=amount)
    Refund.objects.filter(pk=refund.pk).update(status="succeeded", completed_at=timezone.now())
    return refund


def policy_cancel(*, policy: Policy, resident=None, beneficiaries=None) -> Refund | None:
    """Cancel before cover starts: full refund of the premium, back to whoever paid; the person can
    buy again. Cancelling is the payer's: a resident cancels in 我的保单 what he paid for with his own
    money (``selectors.paid_by``); a policy of an organization's or a donor's list is cancelled on that
    list's page (``beneficiaries``, whose row ``lists.row_cancel`` updates in the same transaction)."""
    from enrollment import selectors

    today = timezone.localdate()
    if beneficiaries is not None:
        if beneficiaries.order_id != policy.order_id:
            raise PaymentRefused("not_yours", "该保单不属于本名单。")
    elif not Policy.objects.filter(selectors.paid_by(resident), pk=policy.pk).exists():
        raise PaymentRefused("not_yours", "只能退保本人出资购买的保单；单位或爱心名单投保的保单由出资方在名单页面办理。")
    if today >= policy.coverage_start:
        raise PaymentRefused(
            "cover_started", f"保障已于{policy.coverage_start:%Y年%-m月%-d日}开始，保障期开始后不能在线退保。"
        )
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=policy.order_id)
        policy = Policy.objects.select_for_update().get(pk=policy.pk)
        if policy.status != Policy.ACTIVE:
            raise PaymentRefused("not_active", "只有已生效的保单可以退保。")
        payment = order.payments.filter(status=Payment.SUCCEEDED).first()
        policy.cancel()
        policy.cancelled_at = timezone.now()
        policy.save(update_fields=["status", "cancelled_at"])
        if not order.policies.filter(status=Policy.ACTIVE).exists():
            order.refund()
            order.closed_at = timezone.now()
            order.save(update_fields=["status", "closed_at"])
        if payment is None:
            return None
        if payment.provider == "bank":  # paid by bank transfer: staff transfer it back to the payer's account
            return Refund.objects.create(payment=payment, out_refund_no=f"{payment.out_trade_no}R{payment.refunds.count() + 1}",
                                         amount=policy.premium, reason="保障开始前退保（对公转账退回）")
        try:
            return _refund_payment(payment, reason="保障开始前退保", amount=policy.premium)
        except payments.PaymentProviderError as exc:
            raise PaymentRefused("refund_failed", f"退款未成功：{exc.message}") from None


def renewal_withhold(*, order: Order, agreement_no: str) -> str:
    """Charge a renewal order against the payer's withholding agreement."""
    out_trade_no = f"{order.number}P{order.payments.count() + 1}"
    Payment.objects.create(order=order, provider=payments.provider().name, method=PaymentMethod.WITHHOLDING,
                           out_trade_no=out_trade_no, amount=order.amount)
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    try:
        trade = payments.provider().withhold(
            agreement_no=agreement_no, out_trade_no=out_trade_no, amount=order.amount,
            description=f"{order.version.name} 自动续保", notify_url=base + reverse(
                "enrollment:pay_notify", args=[payments.provider().name]),
        )
    except payments.PaymentProviderError as exc:
        logger.warning("renewal withholding for order %s failed: %s", order.number, exc.code)
        return "failed"
    if trade.state == "SUCCESS":
        return _apply(out_trade_no=out_trade_no, transaction_id=trade.transaction_id, amount=trade.amount,
                      paid_at=trade.paid_at)
    return "pending"
