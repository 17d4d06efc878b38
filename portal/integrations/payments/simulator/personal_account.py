"""Interim: the Weihai 医保个人账户 payment until the medical-insurance platform package
(``portal/integrations/hsa/``) carries it.

The personal account runs on the bureau's platform, not on a commercial payment provider, so it
has no place in the WeChat Pay / Alipay adapters. Until its own adapter lands, ``billing`` reaches
it through one function, ``enrollment.billing._personal_account()``, which returns
:class:`InterimAdapter`: the same calls as a payment channel (create, query, close, refund),
answered in-process by this simulator's tables and the registry roster's balances. The cashier
page is the payment simulator's, debiting the roster balance and refusing when it is short.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F
from django.urls import reverse

from portal import crypto
from portal.integrations import payments
from portal.integrations.payments.simulator import provider
from portal.integrations.payments.simulator.models import Channel, SimTrade
from portal.simulators.models import RosterEntry

MERCHANT = "HSA-WEIHAI"


def debit(trade: SimTrade) -> None:
    amount = Decimal(trade.total) / 100
    debited = RosterEntry.objects.filter(id_hash=trade.payer_hash, account_balance__gte=amount).update(
        account_balance=F("account_balance") - amount)
    if not debited:
        raise provider.ProviderError("NOT_ENOUGH", "医保个人账户余额不足")


def credit(trade: SimTrade, amount: int) -> None:
    RosterEntry.objects.filter(id_hash=trade.payer_hash).update(
        account_balance=F("account_balance") + Decimal(amount) / 100)


class InterimAdapter:
    name = "medical_account"
    label = "医保个人账户"

    def create(self, *, out_trade_no, amount, description, notify_url, return_url, client_ip, expires_at,
               payer_id_number):
        from django.conf import settings

        try:
            trade = provider.trade_create(
                channel=Channel.MEDICAL_ACCOUNT, merchant=MERCHANT, out_trade_no=out_trade_no,
                total=payments.to_fen(amount), description=description, notify_url=notify_url,
                trade_type="PERSONAL_ACCOUNT", return_url=return_url, time_expire=expires_at,
                payer_hash=crypto.blind_index(payer_id_number))
        except provider.ProviderError as exc:
            raise payments.ProviderError(exc.code, exc.message) from None
        url = settings.SIMULATOR_BASE_URL.rstrip("/") + reverse("payments_simulator:cashier",
                                                                 args=[trade.transaction_id]).removeprefix("/sim")
        return payments.Created(pay_url=url)

    def query(self, out_trade_no):
        trade = SimTrade.objects.filter(channel=Channel.MEDICAL_ACCOUNT, out_trade_no=out_trade_no).first()
        if trade is None:
            return payments.Trade(state="NOTFOUND", out_trade_no=out_trade_no)
        trade = provider.refresh_expiry(trade)
        return payments.Trade(state=trade.state, out_trade_no=out_trade_no, transaction_id=trade.transaction_id,
                              amount=payments.from_fen(trade.total), paid_at=trade.paid_at,
                              description=trade.state_desc)

    def close(self, out_trade_no):
        try:
            provider.trade_close(channel=Channel.MEDICAL_ACCOUNT, merchant=MERCHANT, out_trade_no=out_trade_no)
        except provider.ProviderError as exc:
            raise payments.ProviderError(exc.code, exc.message) from None

    def refund(self, *, out_trade_no, out_refund_no, amount, total, reason, notify_url):
        try:
            refund = provider.refund_create(channel=Channel.MEDICAL_ACCOUNT, merchant=MERCHANT,
                                            out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                                            amount=payments.to_fen(amount), reason=reason)
        except provider.ProviderError as exc:
            raise payments.ProviderError(exc.code, exc.message) from None
        return payments.RefundResult(status=refund.status, out_refund_no=out_refund_no, refund_id=refund.refund_id,
                                     amount=amount)

    def query_refund(self, *, out_trade_no, out_refund_no):
        trade = SimTrade.objects.filter(channel=Channel.MEDICAL_ACCOUNT, out_trade_no=out_trade_no).first()
        refund = trade.refunds.filter(out_refund_no=out_refund_no).first() if trade else None
        if refund is None:
            return payments.RefundResult(status="NOTFOUND", out_refund_no=out_refund_no)
        return payments.RefundResult(status=refund.status, out_refund_no=out_refund_no, refund_id=refund.refund_id,
                                     amount=payments.from_fen(refund.amount))
