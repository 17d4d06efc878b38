"""What the simulated WeChat Pay and Alipay keep: trades, refunds, withholding contracts and the
notifications they owe the merchant (with the retry schedule of each provider)."""

from django.db import models


class Channel(models.TextChoices):
    WECHATPAY = "wechatpay", "微信支付"
    ALIPAY = "alipay", "支付宝"
    MEDICAL_ACCOUNT = "medical_account", "医保个人账户（过渡）"


class SimTrade(models.Model):
    """A transaction on the provider's side; states in WeChat Pay's vocabulary (Alipay's on its wire)."""

    NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED, PAYERROR = "NOTPAY", "USERPAYING", "SUCCESS", "REFUND", "CLOSED", "PAYERROR"
    STATE_CHOICES = [(NOTPAY, "未支付"), (USERPAYING, "用户支付中"), (SUCCESS, "支付成功"), (REFUND, "转入退款"),
                     (CLOSED, "已关闭"), (PAYERROR, "支付失败")]

    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    merchant = models.CharField("商户号/应用ID", max_length=32)
    out_trade_no = models.CharField("商户订单号", max_length=64)
    transaction_id = models.CharField("渠道交易号", max_length=64, unique=True)
    trade_type = models.CharField("交易类型", max_length=20)
    description = models.CharField("商品描述", max_length=256)
    total = models.PositiveIntegerField("金额（分）")
    notify_url = models.CharField("通知地址", max_length=500)
    return_url = models.CharField("返回地址", max_length=500, blank=True)
    quit_url = models.CharField("中途退出地址", max_length=500, blank=True)
    payer_hash = models.CharField("付款人检索码", max_length=64, blank=True)  # personal account owner (blind index), interim
    contract_id = models.CharField("代扣协议号", max_length=64, blank=True)
    state = models.CharField("状态", max_length=12, choices=STATE_CHOICES, default=NOTPAY)
    state_desc = models.CharField("状态描述", max_length=64, blank=True)
    time_expire = models.DateTimeField("支付截止", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    paid_at = models.DateTimeField("支付时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "交易（支付渠道模拟器）"
        constraints = [models.UniqueConstraint(fields=["channel", "merchant", "out_trade_no"], name="paysim_trade_once")]

    def __str__(self) -> str:
        return self.transaction_id

    @property
    def yuan(self) -> str:
        return f"{self.total // 100}.{self.total % 100:02d}"


class SimRefund(models.Model):
    PROCESSING, SUCCESS = "PROCESSING", "SUCCESS"

    trade = models.ForeignKey(SimTrade, on_delete=models.CASCADE, related_name="refunds", verbose_name="交易")
    out_refund_no = models.CharField("商户退款单号", max_length=64)
    refund_id = models.CharField("渠道退款号", max_length=64, unique=True)
    amount = models.PositiveIntegerField("金额（分）")
    reason = models.CharField("原因", max_length=80, blank=True)
    notify_url = models.CharField("通知地址", max_length=500, blank=True)
    status = models.CharField("状态", max_length=12, default=PROCESSING)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    success_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "退款（支付渠道模拟器）"
        constraints = [models.UniqueConstraint(fields=["trade", "out_refund_no"], name="paysim_refund_once")]

    def __str__(self) -> str:
        return self.refund_id


class SimContract(models.Model):
    """A withholding contract (微信委托代扣 / 支付宝商户代扣协议): pending until the payer signs."""

    PENDING, SIGNED, TERMINATED = "PENDING", "SIGNED", "TERMINATED"

    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    merchant = models.CharField("商户号/应用ID", max_length=32)
    out_contract_code = models.CharField("商户协议号", max_length=64)
    contract_id = models.CharField("协议号", max_length=64, unique=True)
    display_account = models.CharField("展示名称", max_length=64)
    notify_url = models.CharField("通知地址", max_length=500)
    return_url = models.CharField("返回地址", max_length=500, blank=True)
    state = models.CharField("状态", max_length=12, default=PENDING)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    signed_at = models.DateTimeField("签约时间", null=True, blank=True)
    terminated_at = models.DateTimeField("解约时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "代扣协议（支付渠道模拟器）"
        constraints = [models.UniqueConstraint(fields=["channel", "merchant", "out_contract_code"],
                                               name="paysim_contract_once")]

    def __str__(self) -> str:
        return self.contract_id


class SimNotification(models.Model):
    """One notification the provider owes the merchant: the same body on every attempt (WeChat Pay
    re-signs each attempt), retried on the provider's schedule until the merchant takes it."""

    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    kind = models.CharField("类型", max_length=12)  # transaction / refund / contract
    url = models.CharField("通知地址", max_length=500)
    body = models.TextField("内容")
    attempts = models.PositiveSmallIntegerField("已发送次数", default=0)
    last_status = models.CharField("最近结果", max_length=60, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知（支付渠道模拟器）"

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} #{self.pk}"
