"""WeChat Pay API v3 as the simulator serves it under ``/sim/payments/wechatpay/v3/…``.

Every request must carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,
timestamp=…,serial_no=…``: the merchant's certificate serial, a timestamp within five minutes and an
RSA-SHA256 signature over ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`` by the merchant's key, else
401 ``SIGN_ERROR``. Every answer is signed with the platform key (``Wechatpay-*`` headers). Errors
are ``{"code", "message"}`` with WeChat Pay's HTTP statuses; amounts are integer fen.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import secrets
import time
from datetime import date, datetime, timedelta

from django.core import signing
from django.http import HttpResponse
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from portal.integrations.payments.simulator import keys, provider
from portal.integrations.payments.simulator.models import Channel, SimRefund, SimTrade

AUTH = re.compile(r'^WECHATPAY2-SHA256-RSA2048 (.*)$')
FIELD = re.compile(r'(\w+)="([^"]*)"')
PREFIX = "/wechatpay"


def _answer(status: int, data: dict | None = None, *, content: bytes | None = None,
            content_type: str = "application/json") -> HttpResponse:
    body = content if content is not None else (json.dumps(data, ensure_ascii=False).encode() if data is not None else b"")
    response = HttpResponse(body, status=status, content_type=content_type)
    if content is None:
        for name, value in provider.wechat_signed_headers(body.decode()).items():
            response[name] = value
    return response


def _error(code: str, message: str, status: int) -> HttpResponse:
    return _answer(status, {"code": code, "message": message})


def _merchant(request) -> str:
    """Check the merchant's signature; return its mchid (or raise a 401 refusal)."""
    match = AUTH.match(request.headers.get("Authorization", ""))
    if not match:
        raise provider.ProviderError("SIGN_ERROR", "缺少签名信息或签名类型错误", 401)
    fields = dict(FIELD.findall(match.group(1)))
    material = keys.material()
    if fields.get("serial_no") != material["wechatpay_merchant_serial_no"]:
        raise provider.ProviderError("SIGN_ERROR", "商户证书序列号有误", 401)
    timestamp = fields.get("timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        raise provider.ProviderError("SIGN_ERROR", "请求时间戳过期", 401)
    full = request.get_full_path()
    url = full[full.index(PREFIX) + len(PREFIX):]
    message = f"{request.method}\n{url}\n{timestamp}\n{fields.get('nonce_str', '')}\n{request.body.decode()}\n"
    if not provider.rsa_verify(material["wechatpay_merchant_public_key"], message, fields.get("signature", "")):
        raise provider.ProviderError("SIGN_ERROR", "签名错误", 401)
    if not fields.get("mchid"):
        raise provider.ProviderError("PARAM_ERROR", "缺少商户号", 400)
    return fields["mchid"]


def _json(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise provider.ProviderError("PARAM_ERROR", "请求体不是合法的JSON") from None
    if not isinstance(data, dict):
        raise provider.ProviderError("PARAM_ERROR", "请求体不是合法的JSON")
    return data


def _fen(amount: dict, key: str) -> int:
    value = amount.get(key) if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise provider.ProviderError("PARAM_ERROR", f"输入源“/body/amount/{key}”映射到值字段“金额”字符串规则校验失败，字段必须为整数（分）")
    return value


def _required(data: dict, *names: str) -> None:
    for name in names:
        if data.get(name) in (None, ""):
            raise provider.ProviderError("PARAM_ERROR", f"输入源“/body/{name}”映射到字段“{name}”必填性规则校验失败，此字段为必填项")


def _api(view):
    @csrf_exempt
    def wrapped(request, *args, **kwargs):
        try:
            mchid = _merchant(request)
            return view(request, mchid, *args, **kwargs)
        except provider.ProviderError as exc:
            return _error(exc.code, exc.message, exc.status)
    return wrapped


@_api
def h5_order(request, mchid):
    if request.method != "POST":
        return _error("NOT_FOUND", "请求方法不支持", 404)
    data = _json(request)
    _required(data, "appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "scene_info")
    if data["mchid"] != mchid:
        raise provider.ProviderError("MCH_NOT_EXISTS", "商户号不一致", 400)
    total = _fen(data["amount"], "total")
    expire = data.get("time_expire")
    trade = provider.trade_create(
        channel=Channel.WECHATPAY, merchant=mchid, out_trade_no=data["out_trade_no"], total=total,
        description=data["description"], notify_url=data["notify_url"], trade_type="MWEB",
        time_expire=datetime.fromisoformat(expire) if expire else timezone.now() + timedelta(hours=2),
    )
    token = signing.dumps(trade.transaction_id, salt="wechatpay-h5")
    h5_url = request.build_absolute_uri(reverse("payments_simulator:cashier", args=[trade.transaction_id]))
    return _answer(200, {"h5_url": f"{h5_url}?prepay_id=wx{trade.transaction_id[-20:]}&package={token[-12:]}"})


@_api
def query(request, mchid, out_trade_no):
    if request.GET.get("mchid") != mchid:
        raise provider.ProviderError("PARAM_ERROR", "mchid 与签名的商户号不一致")
    trade = provider.trade_get(channel=Channel.WECHATPAY, merchant=mchid, out_trade_no=out_trade_no)
    return _answer(200, provider.wechat_transaction(trade))


@_api
def close(request, mchid, out_trade_no):
    if request.method != "POST":
        return _error("NOT_FOUND", "请求方法不支持", 404)
    provider.trade_close(channel=Channel.WECHATPAY, merchant=mchid, out_trade_no=out_trade_no)
    return _answer(204)


@_api
def refunds(request, mchid):
    if request.method != "POST":
        return _error("NOT_FOUND", "请求方法不支持", 404)
    data = _json(request)
    _required(data, "out_refund_no", "amount")
    if not data.get("out_trade_no") and not data.get("transaction_id"):
        raise provider.ProviderError("PARAM_ERROR", "transaction_id 与 out_trade_no 必须填写一个")
    out_trade_no = data.get("out_trade_no") or SimTrade.objects.filter(
        transaction_id=data.get("transaction_id")).values_list("out_trade_no", flat=True).first() or ""
    refund = provider.refund_create(
        channel=Channel.WECHATPAY, merchant=mchid, out_trade_no=out_trade_no, out_refund_no=data["out_refund_no"],
        amount=_fen(data["amount"], "refund"), total=_fen(data["amount"], "total"), reason=data.get("reason", ""),
        notify_url=data.get("notify_url", ""),
    )
    refund.refresh_from_db()
    return _answer(200, provider.wechat_refund(refund))


@_api
def refund_query(request, mchid, out_refund_no):
    refund = SimRefund.objects.select_related("trade").filter(
        trade__channel=Channel.WECHATPAY, trade__merchant=mchid, out_refund_no=out_refund_no).first()
    if refund is None:
        raise provider.ProviderError("RESOURCE_NOT_EXISTS", "退款单不存在", 404)
    return _answer(200, provider.wechat_refund(refund))


def _bill(mchid: str, day: date) -> bytes:
    """The trade bill of one day, as WeChat Pay writes it (values behind a backquote)."""
    from portal.integrations.payments.wechatpay import BILL_COLUMNS

    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    end = start + timedelta(days=1)
    appid = provider.keys_appid()
    lines = [",".join(BILL_COLUMNS)]
    trades = SimTrade.objects.filter(channel=Channel.WECHATPAY, merchant=mchid, paid_at__gte=start, paid_at__lt=end)
    fee_total = 0
    for trade in trades.order_by("paid_at"):
        fee = round(trade.total * 0.006)
        fee_total += fee
        row = [timezone.localtime(trade.paid_at).strftime("%Y-%m-%d %H:%M:%S"), appid, mchid, "0", "",
               trade.transaction_id, trade.out_trade_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", trade.trade_type, "SUCCESS",
               "OTHERS", "CNY", trade.yuan, "0.00", "0", "0", "0.00", "0.00", "", "", trade.description, "",
               f"{fee / 100:.2f}", "0.60%", trade.yuan, "0.00", ""]
        lines.append(",".join("`" + value for value in row))
    refunds = SimRefund.objects.select_related("trade").filter(
        trade__channel=Channel.WECHATPAY, trade__merchant=mchid, success_at__gte=start, success_at__lt=end)
    for refund in refunds.order_by("success_at"):
        trade = refund.trade
        row = [timezone.localtime(refund.success_at).strftime("%Y-%m-%d %H:%M:%S"), appid, mchid, "0", "",
               trade.transaction_id, trade.out_trade_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", trade.trade_type, "REFUND",
               "OTHERS", "CNY", "0.00", "0.00", refund.refund_id, refund.out_refund_no, f"{refund.amount / 100:.2f}",
               "0.00", "ORIGINAL", "SUCCESS", trade.description, "", "0.00", "0.60%", trade.yuan,
               f"{refund.amount / 100:.2f}", ""]
        lines.append(",".join("`" + value for value in row))
    lines.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
    paid = sum(t.total for t in trades)
    refunded = sum(r.amount for r in refunds)
    lines.append(",".join("`" + v for v in [str(trades.count() + refunds.count()), f"{paid / 100:.2f}",
                                            f"{refunded / 100:.2f}", "0.00", f"{fee_total / 100:.2f}",
                                            f"{paid / 100:.2f}", f"{refunded / 100:.2f}"]))
    return ("\n".join(lines) + "\n").encode()


@_api
def trade_bill(request, mchid):
    try:
        day = date.fromisoformat(request.GET.get("bill_date", ""))
    except ValueError:
        raise provider.ProviderError("PARAM_ERROR", "bill_date 格式错误") from None
    if day >= timezone.localdate():
        raise provider.ProviderError("NO_STATEMENT_EXIST", "账单文件不存在（当日账单次日生成）")
    content = _bill(mchid, day)
    token = signing.dumps({"mchid": mchid, "day": day.isoformat(), "gzip": request.GET.get("tar_type") == "GZIP"},
                          salt="wechatpay-bill")
    url = request.build_absolute_uri(reverse("payments_simulator:wechatpay_billdownload")) + f"?token={token}"
    return _answer(200, {"hash_type": "SHA1", "hash_value": hashlib.sha1(content).hexdigest(), "download_url": url})


@_api
def bill_download(request, mchid):
    try:
        ticket = signing.loads(request.GET.get("token", ""), salt="wechatpay-bill", max_age=30)
    except signing.BadSignature:
        raise provider.ProviderError("PARAM_ERROR", "token 无效或已过期") from None
    content = _bill(ticket["mchid"], date.fromisoformat(ticket["day"]))
    if ticket["gzip"]:
        return _answer(200, content=gzip.compress(content), content_type="application/octet-stream")
    return _answer(200, content=content, content_type="text/plain; charset=utf-8")


# --- withholding (委托代扣 v3) ----------------------------------------------------------------


@_api
def contract_presign(request, mchid):
    if request.method != "POST":
        return _error("NOT_FOUND", "请求方法不支持", 404)
    data = _json(request)
    _required(data, "appid", "plan_id", "out_contract_code", "contract_display_account", "contract_notify_url")
    contract = provider.contract_presign(
        channel=Channel.WECHATPAY, merchant=mchid, out_contract_code=data["out_contract_code"],
        display_account=data["contract_display_account"], notify_url=data["contract_notify_url"],
        return_url=data.get("return_url", ""),
    )
    url = request.build_absolute_uri(reverse("payments_simulator:contract_sign", args=[contract.contract_id]))
    return _answer(200, {"redirect_url": url, "presign_token": secrets.token_hex(16)})


@_api
def contract_by_code(request, mchid, plan_id, out_contract_code):
    contract = provider.contract_get(channel=Channel.WECHATPAY, merchant=mchid, out_contract_code=out_contract_code)
    return _answer(200, provider.wechat_contract(contract))


@_api
def contract_terminate(request, mchid, plan_id, out_contract_code):
    if request.method != "POST":
        return _error("NOT_FOUND", "请求方法不支持", 404)
    contract = provider.contract_terminate(channel=Channel.WECHATPAY, merchant=mchid,
                                           out_contract_code=out_contract_code)
    return _answer(200, provider.wechat_contract(contract))


@_api
def papay_apply(request, mchid):
    if request.method != "POST":
        return _error("NOT_FOUND", "请求方法不支持", 404)
    data = _json(request)
    _required(data, "appid", "out_trade_no", "description", "transaction_notify_url", "contract_id", "amount")
    provider.withhold(channel=Channel.WECHATPAY, merchant=mchid, contract_id=data["contract_id"],
                      out_trade_no=data["out_trade_no"], total=_fen(data["amount"], "total"),
                      description=data["description"], notify_url=data["transaction_notify_url"])
    return _answer(204)


urlpatterns = [
    path("v3/pay/transactions/h5", h5_order, name="wechatpay_h5"),
    path("v3/pay/transactions/out-trade-no/<str:out_trade_no>/close", close, name="wechatpay_close"),
    path("v3/pay/transactions/out-trade-no/<str:out_trade_no>", query, name="wechatpay_query"),
    path("v3/refund/domestic/refunds", refunds, name="wechatpay_refunds"),
    path("v3/refund/domestic/refunds/<str:out_refund_no>", refund_query, name="wechatpay_refund_query"),
    path("v3/bill/tradebill", trade_bill, name="wechatpay_tradebill"),
    path("v3/billdownload/file", bill_download, name="wechatpay_billdownload"),
    path("v3/papay/sign/contracts/pre-entrust-sign/h5", contract_presign, name="wechatpay_papay_presign"),
    re_path(r"^v3/papay/sign/contracts/plan-id/(?P<plan_id>\d+)/out-contract-code/(?P<out_contract_code>[^/]+)/terminate$",
            contract_terminate, name="wechatpay_papay_terminate"),
    re_path(r"^v3/papay/sign/contracts/plan-id/(?P<plan_id>\d+)/out-contract-code/(?P<out_contract_code>[^/]+)$",
            contract_by_code, name="wechatpay_papay_contract"),
    path("v3/papay/pay/transactions/apply", papay_apply, name="wechatpay_papay_apply"),
]
