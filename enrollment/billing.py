"""Payments of orders: start, apply the provider's notification once, expire, reconcile, refund.

The channels are WeChat Pay and Alipay (``portal.integrations.payments``), chosen by the payer;
Weihai's 医保个人账户 is reached through :func:`_personal_account` (one seam, see there).

Invariant 2 (domain.md): a provider's transaction is applied once — the order row is locked, the
state change is conditional, and ``(provider, transaction_id)`` is unique on ``Payment``. An order
has at most one open attempt (``one_open_payment_per_order``); simultaneous clicks on 支付 take the
order's lock in turn and reuse it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateField, F, Sum, Value
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone

from enrollment import cover
from enrollment.models import (
    Consent,
    ConsentText,
    Order,
    Payment,
    PaymentMethod,
    PaymentNotification,
    Policy,
    Refund,
    RenewalAuthorization,
)
from portal import sms
from portal.integrations import payments

logger = logging.getLogger(__name__)

PERSONAL_ACCOUNT = "medical_account"
RECONCILE_BATCH = 500


class PaymentRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _personal_account():
    """The Weihai personal-account adapter: the 医疗保障信息平台's account transactions."""
    from portal.integrations.hsa.account import PersonalAccount

    return PersonalAccount()


def adapter(provider: str):
    if provider == PERSONAL_ACCOUNT:
        return _personal_account()
    return payments.channel(provider)


def _notify_url(provider: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("enrollment:pay_notify", args=[provider])


def _description(order: Order) -> str:
    return f"{order.version.name} 订单{order.number}"


# --- starting a payment ----------------------------------------------------------------------


def _settle(payment: Payment, trade: payments.Trade) -> str:
    """Record what the provider says of an open attempt. Returns an outcome code."""
    if trade.state == "SUCCESS":
        return _apply(out_trade_no=payment.out_trade_no, transaction_id=trade.transaction_id, amount=trade.amount,
                      paid_at=trade.paid_at)
    if trade.state in ("PAYERROR", "CLOSED", "REVOKED"):
        status = Payment.FAILED if trade.state == "PAYERROR" else Payment.CLOSED
        Payment.objects.filter(pk=payment.pk, status=Payment.CREATED).update(
            status=status, note=(trade.description or "")[:100], closed_at=timezone.now())
        return "failed" if status == Payment.FAILED else "closed"
    return "paying" if trade.state == "USERPAYING" else "pending"


def _personal_account_payer(order: Order) -> dict:
    """Issue 16: only a 职工 payer with a personal account, for himself and the relatives his
    家庭共济 binding names (both asked of the registry now). The adapter's payer arguments."""
    from enrollment import idnumber, registry

    payer = order.resident.person
    if payer is None:
        raise PaymentRefused("payer_not_employee", "请先完成实名认证，再用本人的医保个人账户支付。")
    insured = list(order.policies.select_related("person"))
    people = [(payer.id_number, payer.name)] + [(p.person.id_number, p.person.name) for p in insured]
    try:
        answers = registry.lookup_many(people)
    except registry.RegistryUnavailable as exc:
        raise PaymentRefused("registry_unavailable", str(exc)) from None
    own = idnumber.normalize(payer.id_number)
    answer = answers[own]
    if answer.status != registry.IN_FORCE or answer.category != "employee" or answer.account_balance is None:
        raise PaymentRefused(
            "payer_not_employee",
            "医保个人账户只能由参加职工基本医疗保险、有个人账户的投保人使用（城乡居民医保没有个人账户），请选择微信支付或支付宝。")
    psn_nos = []
    for policy in insured:
        number = idnumber.normalize(policy.person.id_number)
        if number != own and not answer.binds(answers[number]):
            raise PaymentRefused(
                "not_family_bound",
                f"{policy.person.name}不在您的医保家庭共济绑定范围内，不能用您的个人账户缴费；"
                "请先到医保经办机构办理家庭共济绑定，或选择微信支付、支付宝。")
        psn_nos.append(answers[number].psn_no)
    return {"payer_id_number": own, "payer_cert_type": idnumber.cert_type(own), "payer_name": payer.name,
            "payer_psn_no": answer.psn_no, "insured_psn_nos": psn_nos}


ACCOUNT_REFUSALS = {"NOT_ENOUGH": "balance_insufficient", "NO_ACCOUNT": "payer_not_employee"}


def payment_start(*, order: Order, method: str, channel: str = "wechatpay", return_url: str | None = None,
                  client_ip: str = "", consent: bool = False) -> Payment:
    """The open payment attempt of a pending order (a new one, or the one already open on the same
    channel, with a fresh payment link); the payer goes to ``payment.pay_url`` and comes back to
    ``return_url``. Serialised per order by the order's row lock."""
    if method not in (PaymentMethod.ONLINE, PaymentMethod.PERSONAL_ACCOUNT):
        raise PaymentRefused("method_invalid", "请选择支付方式。")
    if method == PaymentMethod.ONLINE and channel not in payments.CHANNELS:
        raise PaymentRefused("channel_invalid", "请选择微信支付或支付宝。")
    provider = PERSONAL_ACCOUNT if method == PaymentMethod.PERSONAL_ACCOUNT else channel
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    paid_meanwhile = False
    payer = None
    if method == PaymentMethod.PERSONAL_ACCOUNT:
        if not order.version.program.personal_account_payment:
            raise PaymentRefused("method_not_offered", f"{order.version.program}不支持医保个人账户支付。")
        if not consent:
            raise PaymentRefused("consent_required", "请先阅读并同意《医保个人账户支付授权》，再用医保个人账户支付。")
        if order.status == Order.PENDING:
            payer = _personal_account_payer(order)
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("version__program", "resident__person").get(
            pk=order.pk)
        if order.status != Order.PENDING:
            raise PaymentRefused("order_not_pending", f"订单{order.get_status_display()}，不能支付。")
        if order.expires_at <= timezone.now():
            raise PaymentRefused("order_expired", "订单已超过支付时限，请重新投保。")
        open_attempt = order.payments.filter(status=Payment.CREATED).first()
        if open_attempt is not None:
            try:
                trade = adapter(open_attempt.provider).query(open_attempt.out_trade_no)
            except payments.ProviderError as exc:
                raise PaymentRefused("provider_unavailable", exc.message) from None
            outcome = _settle(open_attempt, trade)
            if outcome in ("applied", "replay", "refunded_late"):
                paid_meanwhile = True
            elif outcome in ("pending", "paying") and open_attempt.provider != provider:
                try:  # the payer switched channels: the other attempt must not be paid as well
                    adapter(open_attempt.provider).close(open_attempt.out_trade_no)
                except payments.ProviderError as exc:
                    raise PaymentRefused("provider_unavailable", exc.message) from None
                _settle(open_attempt, payments.Trade(state="CLOSED", out_trade_no=open_attempt.out_trade_no))
                open_attempt = None
            elif outcome not in ("pending", "paying"):
                open_attempt = None
        if not paid_meanwhile:
            if open_attempt is None:
                order.payment_attempts += 1
                order.save(update_fields=["payment_attempts"])
            return _payment_open(order=order, provider=provider, method=method, open_attempt=open_attempt,
                                 payer=payer, client_ip=client_ip,
                                 return_url=return_url or base + reverse("enrollment:order_return", args=[order.number]))
    # The attempt open on the provider had been paid: applied above (and committed), nothing to open.
    raise PaymentRefused("order_not_pending", "订单已支付。")


def _payment_open(*, order, provider, method, open_attempt, payer, client_ip, return_url) -> Payment:
    """Place the order with the provider (again, for a reused attempt: a fresh payment link)."""
    out_trade_no = open_attempt.out_trade_no if open_attempt else f"{order.number}P{order.payment_attempts}"
    kwargs, consent = dict(payer or {}), None
    if payer:  # the personal account: the consent is recorded for this payment and sent with it
        text = ConsentText.objects.filter(kind=ConsentText.PERSONAL_ACCOUNT).latest()
        consent = Consent.objects.create(person=order.resident.person, text=text, given_by=order.resident,
                                         ip_address=client_ip or None)
        kwargs.update(auth_text=f"{text.kind}:{text.version}", auth_time=consent.given_at)
    try:
        created = adapter(provider).create(
            out_trade_no=out_trade_no, amount=order.amount, description=_description(order),
            notify_url=_notify_url(provider), client_ip=client_ip, expires_at=order.expires_at,
            return_url=return_url, **kwargs,
        )
    except payments.ProviderError as exc:  # the whole transaction rolls back: a refusal changes nothing
        raise PaymentRefused(ACCOUNT_REFUSALS.get(exc.code, "provider_unavailable") if payer else "provider_unavailable",
                             exc.message) from None
    if open_attempt is not None:
        Payment.objects.filter(pk=open_attempt.pk).update(pay_url=created.pay_url)
        open_attempt.pay_url = created.pay_url
        return open_attempt
    return Payment.objects.create(order=order, provider=provider, method=method, out_trade_no=out_trade_no,
                                  amount=order.amount, pay_url=created.pay_url, consent=consent)


# --- applying a provider's transaction once ----------------------------------------------------


def _apply(*, out_trade_no: str, transaction_id: str, amount: Decimal, paid_at) -> str:
    """Apply a successful provider transaction once. Returns an outcome code."""
    with transaction.atomic():
        payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
        if payment is None:
            return "unknown_order"
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        payment.refresh_from_db()
        if payment.status in (Payment.SUCCEEDED, Payment.REFUNDED):
            return "replay" if payment.transaction_id == transaction_id else "conflict"
        if amount != payment.amount:
            return "amount_mismatch"
        if Payment.objects.filter(provider=payment.provider, transaction_id=transaction_id).exclude(
                pk=payment.pk).exists():
            return "transaction_reused"  # the provider's id of another payment: never applied twice
        payment.transaction_id = transaction_id
        payment.status = Payment.SUCCEEDED
        payment.succeeded_at = paid_at or timezone.now()
        try:
            with transaction.atomic():  # the unique (provider, transaction_id) decides a race
                payment.save(update_fields=["transaction_id", "status", "succeeded_at"])
        except IntegrityError:
            return "transaction_reused"
        if order.status != Order.PENDING:
            # Money arrived for an order that expired, was cancelled or was paid by another attempt
            # meanwhile: give it back.
            transaction.on_commit(lambda: _refund_late(payment.pk))
            return "refunded_late"
        order.mark_paid()
        order.paid_at = payment.succeeded_at
        order.save(update_fields=["status", "paid_at"])
        start = cover.start_for(version=order.version, paid_on=timezone.localdate(payment.succeeded_at))
        # pending → active in one statement, whatever the order's size (a 50,000-row list's order);
        # cover never starts earlier than written.
        order.policies.filter(status=Policy.PENDING).update(
            status=Policy.ACTIVE, activated_at=timezone.now(),
            coverage_start=Greatest(F("coverage_start"), Value(start, output_field=DateField())))
        cover.policies_activated(policy_ids=list(order.policies.values_list("pk", flat=True)))
        if order.organization_id or order.campaign_id:
            from enrollment import lists

            lists.list_issued(order=order)  # each beneficiary is told, not the buyer
            return "applied"
        phone = order.resident.phone if order.resident_id else None
        if phone:
            for policy in order.policies.select_related("person"):
                transaction.on_commit(
                    lambda p=policy: sms.send(phone=phone, template="policy_issued", name=p.person.name,
                                              product=order.version.name, policy=p.number)
                )
        return "applied"


def _refund_late(payment_id: int) -> None:
    payment = Payment.objects.get(pk=payment_id)
    try:
        _refund_payment(payment, reason="订单已关闭，自动退款")
    except payments.ProviderError as exc:  # the reconciliation retries refunds left pending
        logger.warning("automatic refund of %s failed: %s", payment.out_trade_no, exc.code)


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
        locked.payment_attempts += 1
        locked.save(update_fields=["payment_attempts"])
        out_trade_no = f"{locked.number}B{locked.payment_attempts}"
        # Never "open": an online attempt may still be open beside it (and is refunded if paid too).
        Payment.objects.create(order=locked, provider="bank", method=PaymentMethod.BANK_TRANSFER,
                               out_trade_no=out_trade_no, amount=amount, status=Payment.CLOSED)
    outcome = _apply(out_trade_no=out_trade_no, transaction_id=reference, amount=amount, paid_at=paid_at)
    logger.info("bank transfer %s for order %s confirmed by %s: %s", reference[-4:], order.number, user, outcome)
    return outcome


# --- notifications ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handled:
    accepted: bool
    outcome: str
    status: int = 200  # the HTTP status of a refusal (the provider retries either way)


def notification_handle(*, provider: str, headers, body: bytes) -> Handled:
    """A provider notification: every one is recorded; valid ones are applied once."""
    record = PaymentNotification(
        provider=provider, body=body.decode("utf-8", errors="replace")[:10000],
        headers={k: v for k, v in headers.items() if k.lower().startswith(("wechatpay-", "content-type"))})
    try:
        note = adapter(provider).notification(headers, body)
    except payments.InvalidNotification as exc:
        record.outcome = exc.code
        record.save()
        logger.warning("%s notification refused: %s", provider, exc.code)
        return Handled(False, exc.code, 401 if exc.code in ("bad_signature", "wrong_serial", "stale") else 400)
    if note.kind == "transaction":
        outcome = _transaction_noted(note.trade)
        record.payment = Payment.objects.filter(out_trade_no=note.out_trade_no).first()
    elif note.kind == "refund":
        outcome = _refund_noted(note.refund)
    else:
        outcome = _contract_noted(provider, note.contract)
    record.outcome = outcome
    record.accepted = outcome in ("applied", "replay", "refunded_late", "ignored_state", "refund_recorded",
                                  "contract_recorded")
    record.save()
    if not record.accepted:
        logger.warning("%s notification for %s refused: %s", provider, note.out_trade_no, outcome)
        return Handled(False, outcome, 409 if outcome == "transaction_reused" else 400)
    return Handled(True, outcome)


def _transaction_noted(trade: payments.Trade) -> str:
    if trade.state != "SUCCESS":
        return "ignored_state"
    return _apply(out_trade_no=trade.out_trade_no, transaction_id=trade.transaction_id, amount=trade.amount,
                  paid_at=trade.paid_at)


def _refund_noted(result: payments.RefundResult) -> str:
    refund = Refund.objects.select_related("payment").filter(out_refund_no=result.out_refund_no).first()
    if refund is None:
        return "unknown_refund"
    if result.amount is not None and result.amount != refund.amount:
        return "amount_mismatch"
    _refund_record(refund, result)
    return "refund_recorded"


def _contract_noted(provider: str, contract: payments.Contract) -> str:
    authorization = RenewalAuthorization.objects.filter(channel=provider,
                                                        contract_code=contract.out_contract_code).first()
    if authorization is None:
        return "unknown_contract"
    from enrollment import services

    services.renewal_contract_record(authorization=authorization, contract=contract)
    return "contract_recorded"


# --- asking the provider ------------------------------------------------------------------------


def payment_refresh(*, payment: Payment) -> str:
    """Ask the provider about one open attempt and record the answer. Returns an outcome code."""
    if payment.status != Payment.CREATED:
        return {Payment.SUCCEEDED: "paid", Payment.FAILED: "failed", Payment.CLOSED: "closed",
                Payment.REFUNDED: "refunded"}[payment.status]
    try:
        trade = adapter(payment.provider).query(payment.out_trade_no)
    except payments.ProviderError:
        return "unreachable"
    return _settle(payment, trade)


def order_refresh(*, order: Order) -> str:
    """Ask the provider about the order's open attempt (the return page's poll, reconciliation).
    Returns ``applied``, ``pending``, ``failed``, ``closed``, ``unreachable`` or ``none``."""
    outcome = "none"
    for payment in order.payments.filter(status=Payment.CREATED):
        outcome = payment_refresh(payment=payment)
    return outcome


def orders_expire(*, now=None) -> int:
    """Pending orders past their time: paid ones are applied, unpaid are closed and release people."""
    now = now or timezone.now()
    expired = 0
    for order in Order.objects.filter(status=Order.PENDING, expires_at__lte=now):
        order_refresh(order=order)
        unsettled = False
        for payment in order.payments.filter(status=Payment.CREATED).exclude(provider="bank"):
            try:
                adapter(payment.provider).close(payment.out_trade_no)
            except payments.ProviderError as exc:
                # Paid in the meantime (the close is refused): apply it. Unreachable: next run.
                if payment_refresh(payment=payment) != "applied" and exc.retryable:
                    unsettled = True
        if unsettled:
            continue
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if locked.status != Order.PENDING:
                continue
            locked.expire()
            locked.closed_at = now
            locked.save(update_fields=["status", "closed_at"])
            Payment.objects.filter(order=locked, status=Payment.CREATED).update(status=Payment.CLOSED, closed_at=now)
            Policy.objects.filter(order=locked, status=Policy.PENDING).update(status=Policy.EXPIRED)
            expired += 1
    return expired


def orders_reconcile(*, older_than_seconds: int = 120) -> int:
    """Ask the provider about open attempts (a lost notification must not lose a payment) and about
    refunds still processing. Scans only rows that can still change (open attempts, processing
    refunds: partial indexes), in batches, never the history of old orders."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    applied = 0
    open_attempts = Payment.objects.filter(status=Payment.CREATED, created_at__lte=cutoff).exclude(provider="bank")
    for payment in open_attempts.order_by("created_at")[:RECONCILE_BATCH]:
        if payment_refresh(payment=payment) == "applied":
            applied += 1
    refunds = Refund.objects.filter(status__in=[Refund.PENDING, Refund.PROCESSING]).exclude(
        payment__provider="bank")  # a bank transfer is given back by staff, not by a provider
    for refund in refunds.select_related("payment").order_by("created_at")[:RECONCILE_BATCH]:
        try:
            if refund.status == Refund.PENDING:
                _refund_submit(refund)
            else:
                _refund_record(refund, adapter(refund.payment.provider).query_refund(
                    out_trade_no=refund.payment.out_trade_no, out_refund_no=refund.out_refund_no))
        except payments.ProviderError as exc:
            logger.warning("refund %s not settled: %s", refund.out_refund_no, exc.code)
    return applied


@dataclass(frozen=True)
class BillReport:
    channel: str
    day: object
    rows: int
    applied: list[str]
    refunds_recorded: list[str]
    discrepancies: list[str]


def bill_reconcile(*, channel: str, day) -> BillReport:
    """Compare the provider's trade bill of ``day`` with the portal's payments and refunds: a paid
    trade the portal missed is applied; a refund the bill shows done is recorded; anything the
    portal cannot match is reported (and logged) for finance to look at."""
    rows = payments.channel(channel).bill(day)
    applied, recorded, discrepancies = [], [], []
    for row in rows:
        if row.kind == "payment":
            payment = Payment.objects.filter(out_trade_no=row.out_trade_no, provider=channel).first()
            if payment is None:
                discrepancies.append(f"{row.out_trade_no}: 账单有此交易，平台无此支付")
                continue
            if payment.status in (Payment.SUCCEEDED, Payment.REFUNDED):
                if payment.transaction_id != row.transaction_id or payment.amount != row.amount:
                    discrepancies.append(f"{row.out_trade_no}: 交易号或金额与平台记录不符")
                continue
            outcome = _apply(out_trade_no=row.out_trade_no, transaction_id=row.transaction_id, amount=row.amount,
                             paid_at=None)
            (applied if outcome in ("applied", "refunded_late") else discrepancies).append(
                row.out_trade_no if outcome in ("applied", "refunded_late") else f"{row.out_trade_no}: {outcome}")
        else:
            refund = Refund.objects.filter(out_refund_no=row.out_refund_no).first()
            if refund is None or refund.amount != row.amount:
                discrepancies.append(f"{row.out_refund_no}: 账单退款与平台记录不符")
                continue
            if refund.status != Refund.SUCCEEDED:
                _refund_record(refund, payments.RefundResult(status="SUCCESS", out_refund_no=row.out_refund_no,
                                                             refund_id=row.refund_id, amount=row.amount))
                recorded.append(row.out_refund_no)
    for line in discrepancies:
        logger.warning("%s bill of %s: %s", channel, day, line)
    return BillReport(channel, day, len(rows), applied, recorded, discrepancies)


# --- refunds ------------------------------------------------------------------------------------


def _refund_record(refund: Refund, result: payments.RefundResult) -> None:
    status = {"SUCCESS": Refund.SUCCEEDED, "PROCESSING": Refund.PROCESSING}.get(result.status, Refund.FAILED)
    if refund.status == Refund.SUCCEEDED:
        return
    Refund.objects.filter(pk=refund.pk).update(
        status=status, refund_id=result.refund_id or refund.refund_id,
        completed_at=timezone.now() if status == Refund.SUCCEEDED else None)
    refund.status = status


def _refund_submit(refund: Refund) -> Refund:
    payment = refund.payment
    result = adapter(payment.provider).refund(
        out_trade_no=payment.out_trade_no, out_refund_no=refund.out_refund_no, amount=refund.amount,
        total=payment.amount, reason=refund.reason, notify_url=_notify_url(payment.provider))
    _refund_record(refund, result)
    return refund


def _refund_payment(payment: Payment, *, reason: str, amount: Decimal | None = None) -> Refund:
    """Ask the provider to give back ``amount`` (all by default); the attempt is recorded as
    refunded once its refunds cover it. Numbered under the payment's row lock."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        amount = payment.amount if amount is None else amount
        number = f"{payment.out_trade_no}R{payment.refunds.count() + 1}"
        refund = Refund.objects.create(payment=payment, out_refund_no=number, amount=amount, reason=reason)
        covered = payment.refunds.exclude(status=Refund.FAILED).aggregate(total=Sum("amount"))["total"]
        if covered >= payment.amount:
            Payment.objects.filter(pk=payment.pk).update(status=Payment.REFUNDED)
    refund.payment = payment
    return _refund_submit(refund)


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
        except payments.ProviderError as exc:
            raise PaymentRefused("refund_failed", f"退款未成功：{exc.message}") from None


# --- renewal by withholding ----------------------------------------------------------------------


def renewal_withhold(*, order: Order, authorization: RenewalAuthorization) -> str:
    """Charge a renewal order against the payer's signed withholding contract."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        locked.payment_attempts += 1
        locked.save(update_fields=["payment_attempts"])
        out_trade_no = f"{locked.number}P{locked.payment_attempts}"
        Payment.objects.create(order=locked, provider=authorization.channel, method=PaymentMethod.WITHHOLDING,
                               out_trade_no=out_trade_no, amount=locked.amount)
    try:
        trade = payments.channel(authorization.channel).withhold(
            contract_id=authorization.agreement_no, out_trade_no=out_trade_no, amount=order.amount,
            description=f"{order.version.name} 自动续保", notify_url=_notify_url(authorization.channel))
    except payments.ProviderError as exc:
        logger.warning("renewal withholding for order %s failed: %s", order.number, exc.code)
        if not exc.retryable:
            Payment.objects.filter(out_trade_no=out_trade_no, status=Payment.CREATED).update(
                status=Payment.FAILED, note=exc.message[:100], closed_at=timezone.now())
        return "failed"
    if trade.state == "SUCCESS":
        return _apply(out_trade_no=out_trade_no, transaction_id=trade.transaction_id, amount=trade.amount,
                      paid_at=trade.paid_at)
    return "pending"
