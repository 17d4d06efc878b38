"""The simulated providers' own logic, shared by the WeChat Pay and Alipay wire views and the cashier.

A trade is created by the merchant (WeChat Pay: the H5 order API; Alipay: when the payer's browser
opens the signed wap-pay URL), paid, cancelled or refused for balance on the cashier page, closed
by the merchant or by its expiry time, refunded (WeChat Pay: accepted as PROCESSING, then
SUCCESS with a refund notification; Alipay: at once). Each paid trade, finished refund and signed
or terminated contract owes the merchant a notification (``SimNotification``), delivered by
``tasks.deliver_notification`` on the provider's retry schedule.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from portal.integrations.payments.simulator import keys
from portal.integrations.payments.simulator.models import (
    Channel,
    SimContract,
    SimNotification,
    SimRefund,
    SimTrade,
)

# Seconds between attempts after the first: WeChat Pay (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h)
# and Alipay (4m/10m/10m/1h/2h/6h/15h), as their documentation states.
RETRY_SCHEDULE = {
    Channel.WECHATPAY: [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600],
    Channel.ALIPAY: [240, 600, 600, 3600, 7200, 21600, 54000],
}


class ProviderError(Exception):
    """A refusal, with the code and HTTP status the real provider uses."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def transaction_id(channel: str) -> str:
    now = timezone.localtime()
    if channel == Channel.ALIPAY:
        return f"{now:%Y%m%d}2200" + _digits(14)
    return "4200" + _digits(24)


# --- signatures and encryption (the providers' halves of the keys) ---------------------------


def _private(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _public(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def rsa_sign(private_pem: str, message: str) -> str:
    signature = _private(private_pem).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa_verify(public_pem: str, message: str, signature: str) -> bool:
    try:
        _public(public_pem).verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # noqa: BLE001 - any failure is a bad signature
        return False
    return True


def wechat_encrypt(resource: dict, associated_data: str, original_type: str) -> dict:
    nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    ciphertext = AESGCM(keys.material()["wechatpay_apiv3_key"].encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated_data.encode())
    return {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": associated_data, "nonce": nonce}


def wechat_signed_headers(body: str, *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers WeChat Pay puts on an answer or a notification (signed with its platform key)."""
    material = keys.material()
    timestamp = str(timestamp or int(timezone.now().timestamp()))
    nonce = nonce or secrets.token_hex(16).upper()
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(material["wechatpay_platform_private_key"], f"{timestamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": material["wechatpay_public_key_id"],
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Request-ID": uuid.uuid4().hex,
    }


def alipay_content(params: dict, *, exclude_sign_type: bool) -> str:
    skip = {"sign", "sign_type"} if exclude_sign_type else {"sign"}
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in skip and v not in (None, ""))


def alipay_sign(params: dict) -> str:
    """Alipay's signature of a notification or a return: RSA2 over the sorted parameters without
    ``sign`` and ``sign_type``."""
    return rsa_sign(keys.material()["alipay_private_key"], alipay_content(params, exclude_sign_type=True))


# --- trades ----------------------------------------------------------------------------------


def _expired(trade: SimTrade) -> bool:
    return trade.time_expire is not None and trade.time_expire <= timezone.now()


def refresh_expiry(trade: SimTrade) -> SimTrade:
    """A trade past its expiry time is closed by the provider itself."""
    if trade.state == SimTrade.NOTPAY and _expired(trade):
        SimTrade.objects.filter(pk=trade.pk, state=SimTrade.NOTPAY).update(state=SimTrade.CLOSED,
                                                                          state_desc="订单已关闭")
        trade.refresh_from_db()
    return trade


def trade_create(*, channel: str, merchant: str, out_trade_no: str, total: int, description: str, notify_url: str,
                 trade_type: str, return_url: str = "", quit_url: str = "", time_expire: datetime | None = None,
                 payer_hash: str = "", contract_id: str = "") -> SimTrade:
    """Create a trade, or for the same order number and the same amount return the existing one
    (a merchant may place the same order again for a fresh payment link)."""
    if total <= 0:
        raise ProviderError("PARAM_ERROR", "订单金额必须大于0")
    with transaction.atomic():
        trade, created = SimTrade.objects.select_for_update().get_or_create(
            channel=channel, merchant=merchant, out_trade_no=out_trade_no,
            defaults={"transaction_id": transaction_id(channel), "trade_type": trade_type, "total": total,
                      "description": description[:256], "notify_url": notify_url, "return_url": return_url,
                      "quit_url": quit_url, "time_expire": time_expire, "payer_hash": payer_hash,
                      "contract_id": contract_id},
        )
        if created:
            return trade
        if trade.total != total or trade.description != description[:256]:
            raise ProviderError("INVALID_REQUEST", "201 商户订单号重复")
        if trade.state == SimTrade.SUCCESS:
            raise ProviderError("ORDERPAID", "该订单已支付")
        if trade.state in (SimTrade.CLOSED, SimTrade.PAYERROR) or _expired(trade):
            raise ProviderError("ORDER_CLOSED", "订单已关闭")
        if return_url and trade.return_url != return_url:
            trade.return_url = return_url
            trade.save(update_fields=["return_url"])
        return trade


def _notify_paid(trade: SimTrade) -> None:
    if trade.channel == Channel.WECHATPAY:
        resource = wechat_transaction(trade)
        body = {"id": str(uuid.uuid4()), "create_time": timezone.localtime().isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                "resource": wechat_encrypt(resource, "transaction", "transaction")}
        notification_owe(channel=trade.channel, kind="transaction", url=trade.notify_url,
                         body=json.dumps(body, ensure_ascii=False))
    elif trade.channel == Channel.ALIPAY:
        notification_owe(channel=trade.channel, kind="transaction", url=trade.notify_url,
                         body=urlencode(alipay_trade_notification(trade)))


@transaction.atomic
def trade_pay(*, transaction_id: str) -> SimTrade:
    """The payer confirms on the cashier (or a withholding charge goes through)."""
    trade = refresh_expiry(SimTrade.objects.select_for_update().get(transaction_id=transaction_id))
    if trade.state == SimTrade.SUCCESS:
        return trade
    if trade.state != SimTrade.NOTPAY:
        raise ProviderError("ORDER_CLOSED", "订单已关闭，不能支付")
    trade.state, trade.state_desc, trade.paid_at = SimTrade.SUCCESS, "支付成功", timezone.now()
    trade.save(update_fields=["state", "state_desc", "paid_at"])
    _notify_paid(trade)
    return trade


@transaction.atomic
def trade_refuse_for_balance(*, transaction_id: str) -> SimTrade:
    """The payer's balance is short: WeChat Pay ends the trade as PAYERROR; Alipay's cashier keeps
    the trade waiting for another way to pay (its state on the wire stays WAIT_BUYER_PAY)."""
    trade = SimTrade.objects.select_for_update().get(transaction_id=transaction_id)
    if trade.state == SimTrade.NOTPAY and trade.channel == Channel.WECHATPAY:
        trade.state, trade.state_desc = SimTrade.PAYERROR, "支付失败，零钱余额不足"
        trade.save(update_fields=["state", "state_desc"])
    return trade


@transaction.atomic
def trade_close(*, channel: str, merchant: str, out_trade_no: str) -> SimTrade:
    trade = SimTrade.objects.select_for_update().filter(channel=channel, merchant=merchant,
                                                        out_trade_no=out_trade_no).first()
    if trade is None:
        raise ProviderError("ORDER_NOT_EXIST", "订单不存在", 404)
    if trade.state == SimTrade.SUCCESS:
        raise ProviderError("ORDERPAID", "订单已支付，不能关闭")
    if trade.state in (SimTrade.NOTPAY, SimTrade.USERPAYING):
        trade.state, trade.state_desc = SimTrade.CLOSED, "订单已关闭"
        trade.save(update_fields=["state", "state_desc"])
    return trade


def trade_get(*, channel: str, merchant: str, out_trade_no: str) -> SimTrade:
    trade = SimTrade.objects.filter(channel=channel, merchant=merchant, out_trade_no=out_trade_no).first()
    if trade is None:
        raise ProviderError("ORDER_NOT_EXIST", "订单不存在", 404)
    return refresh_expiry(trade)


@transaction.atomic
def refund_create(*, channel: str, merchant: str, out_trade_no: str, out_refund_no: str, amount: int,
                  reason: str = "", notify_url: str = "", total: int | None = None) -> SimRefund:
    """A refund, idempotent on ``out_refund_no``; never more than was paid."""
    trade = SimTrade.objects.select_for_update().filter(channel=channel, merchant=merchant,
                                                        out_trade_no=out_trade_no).first()
    if trade is None:
        raise ProviderError("RESOURCE_NOT_EXISTS", "订单不存在", 404)
    existing = trade.refunds.filter(out_refund_no=out_refund_no).first()
    if existing is not None:
        return existing
    if trade.state not in (SimTrade.SUCCESS, SimTrade.REFUND):
        raise ProviderError("TRADE_STATE_ERROR" if channel == Channel.ALIPAY else "INVALID_REQUEST", "订单未支付，不能退款")
    if total is not None and total != trade.total:
        raise ProviderError("PARAM_ERROR", "订单金额与原订单不符")
    refunded = trade.refunds.aggregate(total=Sum("amount"))["total"] or 0
    if amount <= 0 or refunded + amount > trade.total:
        raise ProviderError("NOT_ENOUGH" if channel == Channel.WECHATPAY else "REFUND_AMT_NOT_EQUAL_TOTAL",
                            "退款金额超过可退金额", 403 if channel == Channel.WECHATPAY else 400)
    trade.state = SimTrade.REFUND
    trade.save(update_fields=["state"])
    sync = channel != Channel.WECHATPAY
    refund = SimRefund.objects.create(
        trade=trade, out_refund_no=out_refund_no, refund_id=("50" + _digits(30))[:32], amount=amount,
        reason=reason[:80], notify_url=notify_url, status=SimRefund.SUCCESS if sync else SimRefund.PROCESSING,
        success_at=timezone.now() if sync else None,
    )
    if not sync:
        transaction.on_commit(lambda: _enqueue_refund_completion(refund.pk))
    return refund


def _enqueue_refund_completion(refund_id: int) -> None:
    from portal.integrations.payments.simulator.tasks import complete_refund

    complete_refund.apply_async((refund_id,), countdown=1)


@transaction.atomic
def refund_complete(refund_id: int) -> SimRefund | None:
    """WeChat Pay finishes a PROCESSING refund and notifies the merchant's refund URL."""
    refund = SimRefund.objects.select_for_update().select_related("trade").filter(pk=refund_id).first()
    if refund is None or refund.status == SimRefund.SUCCESS:
        return refund
    refund.status, refund.success_at = SimRefund.SUCCESS, timezone.now()
    refund.save(update_fields=["status", "success_at"])
    if refund.notify_url:
        resource = wechat_refund(refund)
        body = {"id": str(uuid.uuid4()), "create_time": timezone.localtime().isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource", "event_type": "REFUND.SUCCESS", "summary": "退款成功",
                "resource": wechat_encrypt(resource, "refund", "refund")}
        notification_owe(channel=Channel.WECHATPAY, kind="refund", url=refund.notify_url,
                         body=json.dumps(body, ensure_ascii=False))
    return refund


# --- withholding contracts -------------------------------------------------------------------


def contract_presign(*, channel: str, merchant: str, out_contract_code: str, display_account: str, notify_url: str,
                     return_url: str) -> SimContract:
    contract, created = SimContract.objects.get_or_create(
        channel=channel, merchant=merchant, out_contract_code=out_contract_code,
        defaults={"contract_id": ("Wx" if channel == Channel.WECHATPAY else "2025") + _digits(24),
                  "display_account": display_account[:64], "notify_url": notify_url, "return_url": return_url},
    )
    if not created and contract.state != SimContract.PENDING:
        raise ProviderError("CONTRACT_ALREADY_EXIST" if channel == Channel.WECHATPAY else "USER_AGREEMENT_ALREADY_EXIST",
                            "商户协议号已使用")
    if not created and contract.return_url != return_url:
        contract.return_url = return_url
        contract.save(update_fields=["return_url"])
    return contract


def _contract_notify(contract: SimContract) -> None:
    if contract.channel == Channel.WECHATPAY:
        resource = wechat_contract(contract)
        event = "PAPAY.SIGN" if contract.state == SimContract.SIGNED else "PAPAY.TERMINATE"
        body = {"id": str(uuid.uuid4()), "create_time": timezone.localtime().isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource", "event_type": event, "summary": "签约状态变更",
                "resource": wechat_encrypt(resource, "papay", "papay")}
        notification_owe(channel=contract.channel, kind="contract", url=contract.notify_url,
                         body=json.dumps(body, ensure_ascii=False))
    else:
        notification_owe(channel=contract.channel, kind="contract", url=contract.notify_url,
                         body=urlencode(alipay_contract_notification(contract)))


@transaction.atomic
def contract_sign(*, contract_id: str) -> SimContract:
    """The payer agrees on the provider's signing page."""
    contract = SimContract.objects.select_for_update().get(contract_id=contract_id)
    if contract.state == SimContract.PENDING:
        contract.state, contract.signed_at = SimContract.SIGNED, timezone.now()
        contract.save(update_fields=["state", "signed_at"])
        _contract_notify(contract)
    return contract


@transaction.atomic
def contract_terminate(*, channel: str, merchant: str, out_contract_code: str = "", contract_id: str = "") -> SimContract:
    query = SimContract.objects.select_for_update().filter(channel=channel, merchant=merchant)
    contract = (query.filter(contract_id=contract_id) if contract_id else query.filter(
        out_contract_code=out_contract_code)).first()
    if contract is None or contract.state == SimContract.PENDING:
        raise ProviderError("RESOURCE_NOT_EXISTS", "协议不存在", 404)
    if contract.state == SimContract.SIGNED:
        contract.state, contract.terminated_at = SimContract.TERMINATED, timezone.now()
        contract.save(update_fields=["state", "terminated_at"])
        _contract_notify(contract)
    return contract


def contract_get(*, channel: str, merchant: str, out_contract_code: str = "", contract_id: str = "") -> SimContract:
    query = SimContract.objects.filter(channel=channel, merchant=merchant)
    contract = (query.filter(contract_id=contract_id) if contract_id else query.filter(
        out_contract_code=out_contract_code)).first()
    if contract is None or contract.state == SimContract.PENDING:
        raise ProviderError("RESOURCE_NOT_EXISTS", "协议不存在", 404)
    return contract


def withhold(*, channel: str, merchant: str, contract_id: str, out_trade_no: str, total: int, description: str,
             notify_url: str) -> SimTrade:
    """Charge against a signed contract: the trade is created and paid at once."""
    contract = SimContract.objects.filter(channel=channel, merchant=merchant, contract_id=contract_id).first()
    if contract is None or contract.state != SimContract.SIGNED:
        raise ProviderError("CONTRACT_NOT_EXIST" if channel == Channel.WECHATPAY else "AGREEMENT_NOT_EXIST",
                            "代扣协议不存在或已解约", 403 if channel == Channel.WECHATPAY else 400)
    trade = trade_create(channel=channel, merchant=merchant, out_trade_no=out_trade_no, total=total,
                         description=description, notify_url=notify_url,
                         trade_type="PAP" if channel == Channel.WECHATPAY else "GENERAL_WITHHOLDING",
                         contract_id=contract_id)
    return trade_pay(transaction_id=trade.transaction_id)


# --- the resources on the wire -----------------------------------------------------------------


def _rfc3339(moment) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def wechat_transaction(trade: SimTrade) -> dict:
    data = {"appid": keys_appid(), "mchid": trade.merchant, "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id, "trade_type": trade.trade_type, "trade_state": trade.state,
            "trade_state_desc": trade.state_desc or dict(SimTrade.STATE_CHOICES)[trade.state], "attach": "",
            "amount": {"total": trade.total, "currency": "CNY"}}
    if trade.paid_at:
        data.update({"bank_type": "OTHERS", "success_time": _rfc3339(trade.paid_at),
                     "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                     "amount": {"total": trade.total, "payer_total": trade.total, "currency": "CNY",
                                "payer_currency": "CNY"}})
    if trade.contract_id:
        data["contract_id"] = trade.contract_id
    return data


def wechat_refund(refund: SimRefund) -> dict:
    trade = refund.trade
    return {"mchid": trade.merchant, "out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id,
            "out_refund_no": refund.out_refund_no, "refund_id": refund.refund_id, "refund_status": refund.status,
            "status": refund.status, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": _rfc3339(refund.created_at), "success_time": _rfc3339(refund.success_at),
            "amount": {"total": trade.total, "refund": refund.amount, "payer_total": trade.total,
                       "payer_refund": refund.amount, "currency": "CNY"}}


def wechat_contract(contract: SimContract) -> dict:
    return {"mchid": contract.merchant, "appid": keys_appid(), "out_contract_code": contract.out_contract_code,
            "plan_id": 12535, "contract_id": contract.contract_id, "contract_display_account": contract.display_account,
            "contract_state": "SIGNED" if contract.state == SimContract.SIGNED else "TERMINATED",
            "contract_signed_time": _rfc3339(contract.signed_at),
            "contract_terminated_time": _rfc3339(contract.terminated_at)}


def keys_appid() -> str:
    from django.conf import settings

    return settings.WECHATPAY_APPID or "wxd678efh567hg6787"


ALIPAY_STATES = {SimTrade.NOTPAY: "WAIT_BUYER_PAY", SimTrade.USERPAYING: "WAIT_BUYER_PAY",
                 SimTrade.SUCCESS: "TRADE_SUCCESS", SimTrade.REFUND: "TRADE_SUCCESS", SimTrade.CLOSED: "TRADE_CLOSED",
                 SimTrade.PAYERROR: "WAIT_BUYER_PAY"}


def _alipay_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def alipay_trade_status(trade: SimTrade) -> str:
    if trade.state == SimTrade.REFUND:
        refunded = trade.refunds.aggregate(total=Sum("amount"))["total"] or 0
        return "TRADE_CLOSED" if refunded >= trade.total else "TRADE_SUCCESS"
    return ALIPAY_STATES[trade.state]


def alipay_trade_notification(trade: SimTrade) -> dict:
    params = {"notify_time": _alipay_time(timezone.now()), "notify_type": "trade_status_sync",
              "notify_id": uuid.uuid4().hex, "app_id": trade.merchant, "charset": "utf-8", "version": "1.0",
              "sign_type": "RSA2", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no,
              "trade_status": alipay_trade_status(trade), "total_amount": trade.yuan, "receipt_amount": trade.yuan,
              "buyer_pay_amount": trade.yuan, "subject": trade.description, "gmt_create": _alipay_time(trade.created_at),
              "gmt_payment": _alipay_time(trade.paid_at), "buyer_id": "2088102177846880",
              "seller_id": "2088101117955611"}
    if trade.contract_id:
        params["agreement_no"] = trade.contract_id
    return params


def alipay_contract_notification(contract: SimContract) -> dict:
    signed = contract.state == SimContract.SIGNED
    params = {"notify_time": _alipay_time(timezone.now()), "notify_type": "dut_user_sign" if signed else "dut_user_unsign",
              "notify_id": uuid.uuid4().hex, "app_id": contract.merchant, "charset": "utf-8", "version": "1.0",
              "sign_type": "RSA2", "agreement_no": contract.contract_id,
              "external_agreement_no": contract.out_contract_code, "status": "NORMAL" if signed else "UNSIGN",
              "personal_product_code": "GENERAL_WITHHOLDING_P", "sign_scene": "INDUSTRY|INSURANCE",
              "sign_time": _alipay_time(contract.signed_at), "alipay_user_id": "2088101122675263"}
    if not signed:
        params["unsign_time"] = _alipay_time(contract.terminated_at)
    return params


# --- notifications -----------------------------------------------------------------------------


def notification_owe(*, channel: str, kind: str, url: str, body: str) -> SimNotification:
    note = SimNotification.objects.create(channel=channel, kind=kind, url=url, body=body)
    transaction.on_commit(lambda: _enqueue_delivery(note.pk))
    return note


def _enqueue_delivery(note_id: int) -> None:
    from portal.integrations.payments.simulator.tasks import deliver_notification

    deliver_notification.delay(note_id)


def notification_request(note: SimNotification) -> tuple[dict[str, str], bytes]:
    """Headers and body of one attempt: each is signed afresh (WeChat Pay: the headers over the same
    body; Alipay: the parameters with this attempt's ``notify_time``)."""
    if note.channel == Channel.WECHATPAY:
        return {"Content-Type": "application/json", **wechat_signed_headers(note.body)}, note.body.encode()
    params = dict(parse_qsl(note.body, keep_blank_values=True))
    params["notify_time"] = _alipay_time(timezone.now())
    params["sign"] = alipay_sign(params)
    return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, urlencode(params).encode()


def notification_taken(note: SimNotification, status: int, body: bytes) -> bool:
    """WeChat Pay counts HTTP 200/204 as taken; Alipay only the body ``success``."""
    if note.channel == Channel.WECHATPAY:
        return status in (200, 204)
    return status == 200 and body.strip() == b"success"


def deliver(note_id: int) -> str:
    """POST one attempt of the notification; returns ``taken``, ``refused: …`` or ``missing``."""
    import requests

    note = SimNotification.objects.filter(pk=note_id).first()
    if note is None:
        return "missing"
    if note.delivered_at is not None:
        return "taken"
    headers, body = notification_request(note)
    try:
        response = requests.post(note.url, data=body, headers=headers, timeout=10)
        taken = notification_taken(note, response.status_code, response.content)
        outcome = "taken" if taken else f"refused: HTTP {response.status_code} {response.content[:40]!r}"
    except requests.RequestException as exc:
        taken, outcome = False, f"refused: {type(exc).__name__}"
    SimNotification.objects.filter(pk=note_id).update(
        attempts=F("attempts") + 1, last_status=outcome[:60], delivered_at=timezone.now() if taken else None)
    return outcome
