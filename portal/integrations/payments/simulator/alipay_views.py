"""Alipay's open API gateway as the simulator serves it at ``/sim/payments/alipay/gateway.do``.

Requests are the gateway's common parameters (``app_id``, ``method``, ``charset``, ``sign_type=RSA2``,
``timestamp``, ``version``, ``biz_content``, optional ``notify_url``/``return_url``) signed with the
application's private key: RSA-SHA256 over every parameter but ``sign``, sorted, ``k=v`` joined by
``&``. Answers are ``{"<method>_response": {…}, "sign": …}``, the signature over the inner object's
exact text with Alipay's key; a request whose signature fails gets an unsigned ``error_response``
(40002 ``isv.invalid-signature``). Business refusals are code 40004 with Alipay's ``sub_code``.
Amounts are yuan strings with two places. ``alipay.trade.wap.pay`` and
``alipay.user.agreement.page.sign`` are opened by the payer's browser and lead to the cashier or
the signing page.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from portal.integrations.payments import conf
from portal.integrations.payments.simulator import keys, provider
from portal.integrations.payments.simulator.models import Channel, SimRefund, SimTrade

BROWSER_METHODS = {"alipay.trade.wap.pay", "alipay.user.agreement.page.sign"}


class Refusal(Exception):
    def __init__(self, code: str, msg: str, sub_code: str = "", sub_msg: str = ""):
        super().__init__(sub_msg or msg)
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


def business(sub_code: str, sub_msg: str) -> Refusal:
    return Refusal("40004", "Business Failed", sub_code, sub_msg)


def invalid(sub_msg: str) -> Refusal:
    return Refusal("40002", "Invalid Arguments", "isv.invalid-parameter", sub_msg)


def _signed(method: str, content: dict) -> HttpResponse:
    inner = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    sign = provider.rsa_sign(keys.material()["alipay_private_key"], inner)
    key = method.replace(".", "_") + "_response"
    body = f'{{"{key}":{inner},"sign":"{sign}"}}'
    return HttpResponse(body.encode(), content_type="text/html;charset=utf-8")


def _amount(value) -> int:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError):
        raise invalid("金额格式错误") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or not (
            Decimal("0.01") <= amount <= Decimal("100000000")):
        raise invalid("金额必须是以元为单位、最多两位小数的数字")
    return int(amount * 100)


def _verify(params: dict) -> None:
    if params.get("app_id") != conf.alipay().app_id:
        raise Refusal("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
    if params.get("sign_type") != "RSA2":
        raise Refusal("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型")
    content = provider.alipay_content(params, exclude_sign_type=False)
    if not provider.rsa_verify(keys.material()["alipay_app_public_key"], content, params.get("sign", "")):
        raise Refusal("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")
    try:
        sent = timezone.make_aware(datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        raise Refusal("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数") from None
    if abs((timezone.now() - sent).total_seconds()) > 900:
        raise Refusal("40002", "Invalid Arguments", "isv.invalid-timestamp", "时间戳已过期")


def _trade(app_id: str, biz: dict) -> SimTrade:
    out_trade_no = biz.get("out_trade_no")
    query = SimTrade.objects.filter(channel=Channel.ALIPAY, merchant=app_id)
    trade = (query.filter(out_trade_no=out_trade_no) if out_trade_no else query.filter(
        transaction_id=biz.get("trade_no", ""))).first()
    if trade is None:
        raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
    return provider.refresh_expiry(trade)


def _alipay_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def trade_query(app_id: str, biz: dict) -> dict:
    trade = _trade(app_id, biz)
    answer = {"code": "10000", "msg": "Success", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no,
              "buyer_logon_id": "158****1562", "trade_status": provider.alipay_trade_status(trade),
              "total_amount": trade.yuan}
    if trade.paid_at:
        answer.update({"receipt_amount": trade.yuan, "buyer_pay_amount": trade.yuan,
                       "send_pay_date": _alipay_time(trade.paid_at), "buyer_user_id": "2088101117955611"})
    return answer


def trade_close(app_id: str, biz: dict) -> dict:
    trade = _trade(app_id, biz)
    try:
        provider.trade_close(channel=Channel.ALIPAY, merchant=app_id, out_trade_no=trade.out_trade_no)
    except provider.ProviderError:
        raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法") from None
    return {"code": "10000", "msg": "Success", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no}


def trade_refund(app_id: str, biz: dict) -> dict:
    trade = _trade(app_id, biz)
    amount = _amount(biz.get("refund_amount"))
    try:
        provider.refund_create(channel=Channel.ALIPAY, merchant=app_id, out_trade_no=trade.out_trade_no,
                               out_refund_no=biz.get("out_request_no") or trade.out_trade_no, amount=amount,
                               reason=biz.get("refund_reason", ""))
    except provider.ProviderError as exc:
        sub = {"TRADE_STATE_ERROR": ("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")}.get(
            exc.code, ("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"))
        raise business(*sub) from None
    refunded = sum(r.amount for r in trade.refunds.all())
    return {"code": "10000", "msg": "Success", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "158****1562", "fund_change": "Y", "refund_fee": f"{refunded / 100:.2f}",
            "gmt_refund_pay": _alipay_time(timezone.now())}


def refund_query(app_id: str, biz: dict) -> dict:
    trade = _trade(app_id, biz)
    refund = trade.refunds.filter(out_refund_no=biz.get("out_request_no", "")).first()
    if refund is None:  # Alipay answers success with no refund_status for an unknown refund request
        return {"code": "10000", "msg": "Success", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no}
    return {"code": "10000", "msg": "Success", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no,
            "out_request_no": refund.out_refund_no, "total_amount": trade.yuan,
            "refund_amount": f"{refund.amount / 100:.2f}", "refund_status": "REFUND_SUCCESS"}


def bill_url(request, app_id: str, biz: dict) -> dict:
    try:
        day = date.fromisoformat(biz.get("bill_date", ""))
    except ValueError:
        raise invalid("bill_date 格式错误") from None
    if biz.get("bill_type") != "trade":
        raise invalid("bill_type 只支持 trade")
    if day >= timezone.localdate():
        raise business("isp.bill_not_exist", "账单不存在")
    token = signing.dumps({"app_id": app_id, "day": day.isoformat()}, salt="alipay-bill")
    url = request.build_absolute_uri(reverse("payments_simulator:alipay_bill")) + f"?token={token}"
    return {"code": "10000", "msg": "Success", "bill_download_url": url}


BILL_HEADER = ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称",
               "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）",
               "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）",
               "卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）", "备注"]


def bill_file(request):
    """The day's 业务明细 as Alipay ships it: a zip holding a GBK CSV with # comment lines."""
    try:
        ticket = signing.loads(request.GET.get("token", ""), salt="alipay-bill", max_age=30)
    except signing.BadSignature:
        return HttpResponse("token 无效或已过期", status=403)
    day = date.fromisoformat(ticket["day"])
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    end = start + timedelta(days=1)
    out = io.StringIO()
    out.write("#支付宝业务明细查询\n#账号：[20880000000000000156]\n")
    out.write(f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day + timedelta(days=1):%Y年%m月%d日} 00:00:00]\n")
    out.write("#-----------------------------------------业务明细列表----------------------------------------\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BILL_HEADER)
    trades = SimTrade.objects.filter(channel=Channel.ALIPAY, merchant=ticket["app_id"], paid_at__gte=start, paid_at__lt=end)
    for trade in trades.order_by("paid_at"):
        writer.writerow([trade.transaction_id, trade.out_trade_no, "交易", trade.description,
                         _alipay_time(trade.created_at), _alipay_time(trade.paid_at), "", "", "", "",
                         "158****1562", trade.yuan, trade.yuan, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00",
                         "0.00", "", f"-{trade.total * 6 / 100000:.2f}", "0.00", ""])
    refunds = SimRefund.objects.select_related("trade").filter(
        trade__channel=Channel.ALIPAY, trade__merchant=ticket["app_id"], success_at__gte=start, success_at__lt=end)
    for refund in refunds.order_by("success_at"):
        trade = refund.trade
        writer.writerow([trade.transaction_id, trade.out_trade_no, "退款", trade.description,
                         _alipay_time(trade.created_at), _alipay_time(refund.success_at), "", "", "", "",
                         "158****1562", f"-{refund.amount / 100:.2f}", f"-{refund.amount / 100:.2f}", "0.00", "0.00",
                         "0.00", "0.00", "0.00", "", "0.00", "0.00", refund.out_refund_no, "0.00", "0.00", ""])
    out.write("#-----------------------------------------业务明细列表结束------------------------------------\n")
    out.write(f"#交易合计：{trades.count()}笔，退款合计：{refunds.count()}笔\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{ticket['app_id']}_{day:%Y%m%d}_业务明细.csv", out.getvalue().encode("gbk"))
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{ticket["app_id"]}_{day:%Y%m%d}.csv.zip"'
    return response


def agreement_query(app_id: str, biz: dict) -> dict:
    try:
        contract = provider.contract_get(channel=Channel.ALIPAY, merchant=app_id,
                                         out_contract_code=biz.get("external_agreement_no", ""),
                                         contract_id=biz.get("agreement_no", ""))
    except provider.ProviderError:
        raise business("USER_AGREEMENT_NOT_EXIST", "用户协议不存在") from None
    return {"code": "10000", "msg": "Success", "agreement_no": contract.contract_id,
            "external_agreement_no": contract.out_contract_code,
            "status": "NORMAL" if contract.state == contract.SIGNED else "STOP",
            "personal_product_code": biz.get("personal_product_code", "GENERAL_WITHHOLDING_P"),
            "sign_time": _alipay_time(contract.signed_at), "sign_scene": "INDUSTRY|INSURANCE"}


def agreement_unsign(app_id: str, biz: dict) -> dict:
    try:
        provider.contract_terminate(channel=Channel.ALIPAY, merchant=app_id,
                                    out_contract_code=biz.get("external_agreement_no", ""),
                                    contract_id=biz.get("agreement_no", ""))
    except provider.ProviderError:
        raise business("USER_AGREEMENT_NOT_EXIST", "用户协议不存在") from None
    return {"code": "10000", "msg": "Success"}


def trade_pay(app_id: str, biz: dict, notify_url: str) -> dict:
    """A charge against an agreement (商户代扣: product_code GENERAL_WITHHOLDING)."""
    agreement = (biz.get("agreement_params") or {}).get("agreement_no", "")
    if biz.get("product_code") != "GENERAL_WITHHOLDING" or not agreement:
        raise invalid("仅支持商户代扣（GENERAL_WITHHOLDING，agreement_params.agreement_no）")
    try:
        trade = provider.withhold(channel=Channel.ALIPAY, merchant=app_id, contract_id=agreement,
                                  out_trade_no=biz.get("out_trade_no", ""), total=_amount(biz.get("total_amount")),
                                  description=biz.get("subject", ""), notify_url=notify_url)
    except provider.ProviderError as exc:
        raise business("ACQ.AGREEMENT_NOT_EXIST" if "AGREEMENT" in exc.code else "ACQ.TRADE_HAS_CLOSE",
                       exc.message) from None
    return {"code": "10000", "msg": "Success", "trade_no": trade.transaction_id, "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "158****1562", "total_amount": trade.yuan, "receipt_amount": trade.yuan,
            "gmt_payment": _alipay_time(trade.paid_at), "buyer_user_id": "2088101117955611"}


def _browser(request, method: str, params: dict, biz: dict):
    app_id = params["app_id"]
    if method == "alipay.trade.wap.pay":
        if biz.get("product_code") != "QUICK_WAP_WAY":
            raise invalid("product_code 必须为 QUICK_WAP_WAY")
        expire = biz.get("time_expire")
        trade = provider.trade_create(
            channel=Channel.ALIPAY, merchant=app_id, out_trade_no=biz.get("out_trade_no", ""),
            total=_amount(biz.get("total_amount")), description=biz.get("subject", ""),
            notify_url=params.get("notify_url", ""), trade_type="QUICK_WAP_WAY",
            return_url=params.get("return_url", ""), quit_url=biz.get("quit_url", ""),
            time_expire=timezone.make_aware(datetime.strptime(expire, "%Y-%m-%d %H:%M:%S")) if expire else None,
        )
        return HttpResponseRedirect(reverse("payments_simulator:cashier", args=[trade.transaction_id]))
    contract = provider.contract_presign(
        channel=Channel.ALIPAY, merchant=app_id, out_contract_code=biz.get("external_agreement_no", ""),
        display_account=biz.get("external_logon_id", "") or "支付宝用户", notify_url=params.get("notify_url", ""),
        return_url=params.get("return_url", ""),
    )
    return HttpResponseRedirect(reverse("payments_simulator:contract_sign", args=[contract.contract_id]))


@csrf_exempt
def gateway(request):
    params = {k: v for k, v in (request.POST if request.method == "POST" else request.GET).items()}
    method = params.get("method", "")
    try:
        _verify(params)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            raise invalid("biz_content 不是合法的JSON") from None
        if method in BROWSER_METHODS:
            try:
                return _browser(request, method, params, biz)
            except provider.ProviderError as exc:
                raise business("ACQ." + exc.code, exc.message) from None
        app_id = params["app_id"]
        handlers = {
            "alipay.trade.query": lambda: trade_query(app_id, biz),
            "alipay.trade.close": lambda: trade_close(app_id, biz),
            "alipay.trade.refund": lambda: trade_refund(app_id, biz),
            "alipay.trade.fastpay.refund.query": lambda: refund_query(app_id, biz),
            "alipay.data.dataservice.bill.downloadurl.query": lambda: bill_url(request, app_id, biz),
            "alipay.user.agreement.query": lambda: agreement_query(app_id, biz),
            "alipay.user.agreement.unsign": lambda: agreement_unsign(app_id, biz),
            "alipay.trade.pay": lambda: trade_pay(app_id, biz, params.get("notify_url", "")),
        }
        if method not in handlers:
            raise Refusal("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
        return _signed(method, handlers[method]())
    except Refusal as refusal:
        content = {"code": refusal.code, "msg": refusal.msg, "sub_code": refusal.sub_code, "sub_msg": refusal.sub_msg}
        if method in BROWSER_METHODS:
            return render(request, "payments_simulator/error.html", {"refusal": refusal}, status=400)
        if refusal.sub_code.startswith("isv.invalid-signature") or refusal.sub_code == "isv.invalid-app-id":
            body = json.dumps({"error_response": content}, ensure_ascii=False)
            return HttpResponse(body.encode(), content_type="text/html;charset=utf-8")
        return _signed(method or "error", content)


urlpatterns = [
    path("gateway.do", gateway, name="alipay_gateway"),
    path("bill/", bill_file, name="alipay_bill"),
]
