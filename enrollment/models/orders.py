"""Orders, policies, payments, refunds, provider notifications and renewal authorizations."""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import FSMField, transition

from enrollment.models.accounts import Consent, Relation, Resident
from enrollment.models.base import MONEY
from enrollment.models.persons import Person
from enrollment.models.products import Plan, ProductVersion, Program

# --- Orders, policies, payments ------------------------------------------------------------


class Channel(models.TextChoices):
    SELF = "self", "个人自购"
    FAMILY = "family", "家庭代购"
    EMPLOYER = "employer", "单位团体"
    COLLECTIVE = "collective", "集体经济组织"
    CAMPAIGN = "campaign", "“四心”捐赠"
    FUND = "fund", "爱心基金"
    RENEWAL = "renewal", "自动续保"
    COUNTER = "counter", "网点柜面"


class PaymentMethod(models.TextChoices):
    ONLINE = "online", "在线支付"
    PERSONAL_ACCOUNT = "personal_account", "医保个人账户"
    BANK_TRANSFER = "bank_transfer", "对公转账"
    WITHHOLDING = "withholding", "授权代扣"
    FUND = "fund", "爱心基金"
    COUNTER_CASH = "counter_cash", "柜面现金"
    COUNTER_CARD = "counter_card", "柜面刷卡"


@pghistory.track()
class Order(models.Model):
    """Who pays, how much, for which policies. Unpaid orders expire after 30 minutes."""

    PENDING, PAID, EXPIRED, CANCELLED, REFUNDED = "pending", "paid", "expired", "cancelled", "refunded"
    STATUS_CHOICES = [
        (PENDING, "待支付"),
        (PAID, "已支付"),
        (EXPIRED, "已过期"),
        (CANCELLED, "已取消"),
        (REFUNDED, "已退款"),
    ]

    number = models.CharField("订单号", max_length=32, unique=True)
    version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT, related_name="orders", verbose_name="产品")
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name="下单账户"
    )
    channel = models.CharField("渠道", max_length=12, choices=Channel.choices)
    organization = models.ForeignKey("Organization", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="orders", verbose_name="投保单位")
    campaign = models.ForeignKey("Campaign", on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
                                 verbose_name="“四心”活动")
    method = models.CharField("支付方式", max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.ONLINE)
    amount = models.DecimalField("金额", **MONEY)
    status = FSMField("状态", default=PENDING, choices=STATUS_CHOICES, protected=False)
    created_at = models.DateTimeField("下单时间", auto_now_add=True)
    expires_at = models.DateTimeField("支付截止")
    paid_at = models.DateTimeField("支付时间", null=True, blank=True)
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)
    # Numbers the payment attempts (out_trade_no = number + "P" + n); incremented under the order's lock.
    payment_attempts = models.PositiveSmallIntegerField("支付尝试次数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "订单"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative")]

    def __str__(self) -> str:
        return self.number

    # Premiums an employer or a collective pays for its own people: a premium receipt (团体投保保费凭证,
    # for the 5%-of-payroll deduction); every other organization or donor gets a donation receipt.
    GROUP_PREMIUM_CHANNELS = ("employer", "collective")

    @property
    def receipt_label(self) -> str:
        return "团体投保保费凭证" if self.channel in self.GROUP_PREMIUM_CHANNELS else "捐赠回执"

    @transition(field=status, source=PENDING, target=PAID)
    def mark_paid(self) -> None:
        pass

    @transition(field=status, source=PENDING, target=EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=PENDING, target=CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=status, source=PAID, target=REFUNDED)
    def refund(self) -> None:
        pass


@pghistory.track()
class Policy(models.Model):
    """One Person under one ProductVersion and Plan. At most one live policy per person and year."""

    PENDING, ACTIVE, CANCELLED, EXPIRED = "pending", "active", "cancelled", "expired"
    LIVE = (PENDING, ACTIVE)
    STATUS_CHOICES = [(PENDING, "待支付"), (ACTIVE, "有效"), (CANCELLED, "已退保"), (EXPIRED, "未支付已失效")]

    number = models.CharField("保单号", max_length=32, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="policies", verbose_name="被保险人")
    version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT, related_name="policies", verbose_name="产品")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="policies", verbose_name="方案")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="policies", verbose_name="订单")
    channel = models.CharField("渠道", max_length=12, choices=Channel.choices)
    campaign = models.ForeignKey("Campaign", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="policies", verbose_name="“四心”活动")
    relation = models.CharField("与投保人关系", max_length=10, choices=Relation.choices, default=Relation.SELF)
    premium = models.DecimalField("保费", **MONEY)
    # Facts the benefit rules read (Weihai): prior consecutive years insured, and whether the
    # registry named the person a medical-assistance recipient when the policy was bought.
    consecutive_years = models.PositiveSmallIntegerField("此前连续参保年数", default=0)
    medical_assistance = models.BooleanField("医疗救助对象", default=False)
    # Where the person's base insurance was, as the registry answered when the policy was bought
    # (参保地, insuplc_admdvs): the district the supervision dashboard counts the policy in.
    insured_region = models.CharField("参保地区划码", max_length=12, blank=True, db_index=True)
    # The policy's own cover: from the later of the version's start and the day after payment
    # (``enrollment.cover.start_for``), to the version's end.
    coverage_start = models.DateField("保障开始")
    coverage_end = models.DateField("保障结束")
    status = FSMField("状态", default=PENDING, choices=STATUS_CHOICES, protected=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    activated_at = models.DateTimeField("生效时间", null=True, blank=True)
    cancelled_at = models.DateTimeField("退保时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "保单"
        ordering = ["-created_at"]
        constraints = [
            # Invariant 1: one live policy per person and product year, across every channel.
            models.UniqueConstraint(
                fields=["person", "version"],
                condition=Q(status__in=["pending", "active"]),
                name="one_live_policy_per_person_year",
            ),
            models.CheckConstraint(condition=Q(premium__gte=0), name="policy_premium_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def state_label(self) -> str:
        """待支付 / 待生效 / 保障中 / 已到期 / 已退保 / 未支付已失效, by the policy's own dates."""
        from enrollment import cover

        return cover.state_label(self)

    @transition(field=status, source=PENDING, target=ACTIVE)
    def activate(self) -> None:
        pass

    @transition(field=status, source=PENDING, target=EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=[PENDING, ACTIVE], target=CANCELLED)
    def cancel(self) -> None:
        pass


@pghistory.track()
class Payment(models.Model):
    """One attempt with one provider. The provider's transaction id is applied once (invariant 2);
    an order has at most one open attempt (a partial unique constraint)."""

    CREATED, SUCCEEDED, FAILED, CLOSED, REFUNDED = "created", "succeeded", "failed", "closed", "refunded"
    STATUS_CHOICES = [
        (CREATED, "待支付"),
        (SUCCEEDED, "支付成功"),
        (FAILED, "支付失败"),
        (CLOSED, "已关闭"),
        (REFUNDED, "已退款"),
    ]

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments", verbose_name="订单")
    provider = models.CharField("支付渠道", max_length=20)
    method = models.CharField("支付方式", max_length=20, choices=PaymentMethod.choices)
    out_trade_no = models.CharField("商户单号", max_length=40, unique=True)
    transaction_id = models.CharField(  # noqa: DJ001 - NULL until paid; unique when set
        "渠道交易号", max_length=64, null=True, blank=True
    )
    amount = models.DecimalField("金额", **MONEY)
    status = FSMField("状态", default=CREATED, choices=STATUS_CHOICES, protected=False)
    pay_url = models.CharField("支付页地址", max_length=2000, blank=True)
    note = models.CharField("渠道说明", max_length=100, blank=True)  # e.g. the provider's reason for a failure
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    succeeded_at = models.DateTimeField("成功时间", null=True, blank=True)
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)
    # 医保个人账户: the payer's 医保个人账户支付授权 given for this payment (issue 16)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name="支付授权")

    class Meta:
        verbose_name = verbose_name_plural = "支付"
        constraints = [
            models.UniqueConstraint(fields=["provider", "transaction_id"], name="payment_transaction_once"),
            models.UniqueConstraint(fields=["order"], condition=Q(status="created"), name="one_open_payment_per_order"),
        ]
        indexes = [models.Index(fields=["created_at"], condition=Q(status="created"), name="payment_open_idx")]

    def __str__(self) -> str:
        return self.out_trade_no


@pghistory.track()
class Refund(models.Model):
    """A refund asked of the provider: ``processing`` until the provider reports it done."""

    PENDING, PROCESSING, SUCCEEDED, FAILED = "pending", "processing", "succeeded", "failed"
    STATUS_CHOICES = [(PENDING, "待提交"), (PROCESSING, "退款中"), (SUCCEEDED, "已退款"), (FAILED, "退款失败")]

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name="支付")
    out_refund_no = models.CharField("退款单号", max_length=40, unique=True)
    refund_id = models.CharField("渠道退款号", max_length=64, blank=True)
    amount = models.DecimalField("金额", **MONEY)
    status = models.CharField("状态", max_length=12, choices=STATUS_CHOICES, default=PENDING)
    reason = models.CharField("原因", max_length=100)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    completed_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "退款"

    def __str__(self) -> str:
        return self.out_refund_no


class PaymentNotification(models.Model):
    """Every notification the provider sent us, verified or not (forged ones are kept as evidence)."""

    provider = models.CharField("支付渠道", max_length=20)
    received_at = models.DateTimeField("接收时间", auto_now_add=True)
    headers = models.JSONField("请求头", default=dict)
    body = models.TextField("报文")
    accepted = models.BooleanField("已验签受理", default=False)
    outcome = models.CharField("处理结果", max_length=40)  # applied / replay / bad_signature / amount_mismatch / ...
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications",
                                verbose_name="支付记录")

    class Meta:
        verbose_name = verbose_name_plural = "支付通知"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.provider} {timezone.localtime(self.received_at):%Y-%m-%d %H:%M:%S} {self.outcome}"


class RenewalAuthorization(models.Model):
    """Weihai: consent to renew and be charged automatically when the next version opens."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="renewals", verbose_name="账户")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="renewals", verbose_name="被保险人")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="renewals", verbose_name="项目")
    plan_code = models.SlugField("续保方案")
    channel = models.CharField("代扣渠道", max_length=16, default="wechatpay")
    contract_code = models.CharField("商户协议号", max_length=64, default="")  # ours, sent to the provider
    agreement_no = models.CharField("代扣协议号", max_length=64, default="")  # the provider's, once signed
    signed_at = models.DateTimeField("签约时间", null=True, blank=True)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="+", verbose_name="授权记录")
    created_at = models.DateTimeField("授权时间", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "自动续保授权"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "program"], condition=Q(revoked_at__isnull=True), name="one_active_renewal"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} 自动续保（{self.program}）"


class RenewalRefusal(models.Model):
    """A renewal that was not charged because the registry, asked again before charging, no longer
    found the person eligible: recorded once per authorization and product version (the payer is
    told then, by SMS and on 我的保单); the daily run asks again and renews if that changes."""

    authorization = models.ForeignKey(RenewalAuthorization, on_delete=models.PROTECT, related_name="refusals",
                                      verbose_name="自动续保授权")
    version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT, related_name="+", verbose_name="续保年度")
    code = models.CharField("原因代码", max_length=40)
    message = models.CharField("告知付款人的原因", max_length=200)
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "未能续保记录"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["authorization", "version"], name="renewal_refused_once")]

    def __str__(self) -> str:
        return f"{self.authorization.person} {self.version.year}年度未能续保：{self.message}"
