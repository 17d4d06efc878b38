"""Payment channels: WeChat Pay API v3 (``wechatpay.py``) and Alipay (``alipay.py``), merchant side.

The small API the apps call::

    channel = payments.channel("wechatpay")      # or "alipay"; payments.CHANNELS lists both
    channel.create(out_trade_no=…, amount=Decimal, description=…, notify_url=…, return_url=…,
                   client_ip=…, expires_at=datetime) -> Created(pay_url)
    channel.query(out_trade_no) -> Trade            # state: NOTPAY USERPAYING SUCCESS REFUND CLOSED PAYERROR
    channel.close(out_trade_no)
    channel.refund(out_trade_no=…, out_refund_no=…, amount=…, total=…, reason=…, notify_url=…) -> RefundResult
    channel.query_refund(out_trade_no=…, out_refund_no=…) -> RefundResult
    channel.notification(headers, body) -> Notification   (raises InvalidNotification(code))
    channel.answer(accepted: bool) -> (status, content_type, body)   the documented answer body
    channel.bill(day) -> list[BillRow]              the provider's trade bill of one day
    channel.contract_presign / contract_query / contract_terminate / withhold   (auto-renewal)

Every state and amount comes back in one vocabulary (WeChat Pay's trade states; ``Decimal`` yuan),
whichever channel spoke: fen (WeChat Pay) or yuan strings (Alipay) exist only at the wire.
Errors: :class:`ProviderError` (``code`` as the provider names it, ``retryable`` for timeouts,
unreachable hosts and the provider's own 5xx), :class:`InvalidNotification` (``code``: one of
``bad_signature``, ``wrong_serial``, ``stale``, ``undecryptable``, ``malformed``,
``amount_invalid``, ``wrong_merchant``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

CHANNELS = ("wechatpay", "alipay")
LABELS = {"wechatpay": "微信支付", "alipay": "支付宝"}
NOTIFICATION_MAX_AGE_SECONDS = 300
CENT = Decimal("0.01")


class ProviderError(Exception):
    """The channel refused or could not be reached. ``message`` is fit to show a resident."""

    def __init__(self, code: str, message: str = "支付渠道暂时不可用，请稍后重试", *, retryable: bool = False):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable = code, message, retryable


class InvalidNotification(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Created:
    pay_url: str


@dataclass(frozen=True)
class Trade:
    state: str  # NOTPAY USERPAYING SUCCESS REFUND CLOSED PAYERROR NOTFOUND
    out_trade_no: str
    transaction_id: str = ""
    amount: Decimal | None = None
    paid_at: datetime | None = None
    description: str = ""  # the provider's words for the state (trade_state_desc)


@dataclass(frozen=True)
class RefundResult:
    status: str  # SUCCESS PROCESSING CLOSED ABNORMAL
    out_refund_no: str
    refund_id: str = ""
    amount: Decimal | None = None


@dataclass(frozen=True)
class Contract:
    state: str  # SIGNED TERMINATED UNSIGNED
    out_contract_code: str
    contract_id: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified notification: ``kind`` is ``transaction``, ``refund`` or ``contract``."""

    kind: str
    event_id: str
    trade: Trade | None = None
    refund: RefundResult | None = None
    out_trade_no: str = ""
    contract: Contract | None = None
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BillRow:
    kind: str  # payment | refund
    out_trade_no: str
    transaction_id: str
    amount: Decimal
    out_refund_no: str = ""
    refund_id: str = ""


def to_fen(amount: Decimal) -> int:
    """Yuan (two places) to integer fen, for a wire that counts fen. Refuses anything finer."""
    if not isinstance(amount, Decimal) or amount != amount.quantize(CENT):
        raise ValueError(f"amount must be a Decimal with two places, not {amount!r}")
    return int(amount * 100)


def from_fen(value) -> Decimal:
    """Integer fen from the wire to yuan; anything else (a string, a float, yuan) is refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"amount in fen must be a non-negative integer, not {value!r}")
    return (Decimal(value) / 100).quantize(CENT)


def yuan(value) -> Decimal:
    """A yuan string from the wire ("138.00") to Decimal; refuses more than two places."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise ValueError(f"not an amount in yuan with two places: {value!r}")
    return amount.quantize(CENT)


def cashier_origins() -> list[str]:
    """Where a payer's browser is sent to pay or to sign a withholding contract: the pages holding
    those forms list them in CSP ``form-action`` (a form's redirect to another origin is blocked
    otherwise). WeChat Pay's H5 cashier is on wx.tenpay.com, Alipay's wap cashier behind its gateway
    on mclient.alipay.com; the configured base URLs (the simulator's, in development) are added."""
    from urllib.parse import urlsplit

    from portal.integrations.payments import conf

    origins = {"https://wx.tenpay.com", "https://mclient.alipay.com"}
    for url in (conf.wechatpay().base_url, conf.alipay().gateway):
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


def channel(name: str):
    """The adapter of one channel (``wechatpay`` or ``alipay``)."""
    if name == "wechatpay":
        from portal.integrations.payments.wechatpay import WeChatPayChannel

        return WeChatPayChannel()
    if name == "alipay":
        from portal.integrations.payments.alipay import AlipayChannel

        return AlipayChannel()
    raise KeyError(name)
