"""State kept by the local simulators of the external systems we cannot reach here.

Each simulator stands where the real system would (SMS gateway, basic-insurance registry, payment
provider) and keeps its own tables, separate from the portal's: the portal only ever talks to
them through its adapters (``portal.sms``, ``enrollment.registry``, ``enrollment.payments``).
"""

from decimal import Decimal

from django.db import models

MONEY = {"max_digits": 12, "decimal_places": 2}


class RegistryStatus(models.TextChoices):
    IN_FORCE = "in_force", "参保缴费正常"
    NOT_INSURED = "not_insured", "未参保"
    SUSPENDED = "suspended", "暂停参保"


class RosterEntry(models.Model):
    """One person's basic-insurance status as the simulated registry knows it (staff import it)."""

    EMPLOYEE, RESIDENT = "employee", "resident"
    CATEGORY_CHOICES = [(EMPLOYEE, "职工医保"), (RESIDENT, "城乡居民医保")]

    id_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_masked = models.CharField("身份证号", max_length=18, db_index=True, editable=False)
    name = models.CharField("姓名", max_length=50)
    status = models.CharField("参保状态", max_length=12, choices=RegistryStatus.choices)
    insured_region = models.CharField("参保地区码", max_length=6)
    category = models.CharField("险种", max_length=10, choices=CATEGORY_CHOICES)
    medical_assistance = models.BooleanField("医疗救助对象", default=False)
    veteran = models.BooleanField("退役军人", default=False)
    newborn = models.BooleanField("新生儿", default=False)
    account_balance = models.DecimalField("个人账户余额（元）", default=Decimal("0.00"), **MONEY)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "基本医保参保名册（模拟）"

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"


class SimPayment(models.Model):
    """A transaction on the simulated payment provider's side."""

    NOTPAY, SUCCESS, CLOSED, REFUND = "NOTPAY", "SUCCESS", "CLOSED", "REFUND"
    STATE_CHOICES = [(NOTPAY, "未支付"), (SUCCESS, "支付成功"), (CLOSED, "已关闭"), (REFUND, "转入退款")]

    merchant_id = models.CharField(max_length=32)
    out_trade_no = models.CharField(max_length=40)
    transaction_id = models.CharField(max_length=64, unique=True)
    method = models.CharField(max_length=20)
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=200)
    notify_url = models.CharField(max_length=500)
    return_url = models.CharField(max_length=500, blank=True)
    payer_hash = models.CharField(max_length=64, blank=True)  # personal account owner, blind index
    agreement_no = models.CharField(max_length=64, blank=True)  # withholding contract
    state = models.CharField(max_length=10, choices=STATE_CHOICES, default=NOTPAY)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    notify_attempts = models.PositiveSmallIntegerField(default=0)
    last_notify_status = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付交易（模拟渠道）"
        constraints = [models.UniqueConstraint(fields=["merchant_id", "out_trade_no"], name="sim_trade_once")]

    def __str__(self) -> str:
        return self.transaction_id


class SimRefund(models.Model):
    payment = models.ForeignKey(SimPayment, on_delete=models.CASCADE, related_name="refunds")
    out_refund_no = models.CharField(max_length=40)
    refund_id = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(**MONEY)
    state = models.CharField(max_length=12, default="SUCCESS")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "退款（模拟渠道）"
        constraints = [models.UniqueConstraint(fields=["payment", "out_refund_no"], name="sim_refund_once")]

    def __str__(self) -> str:
        return self.refund_id


class SimAgreement(models.Model):
    """A withholding contract (代扣协议) the payer signed on the provider's side."""

    merchant_id = models.CharField(max_length=32)
    agreement_no = models.CharField(max_length=64, unique=True)
    contract_code = models.CharField(max_length=64)  # the merchant's reference
    payer_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=12, default="ACTIVE")  # ACTIVE / TERMINATED
    created_at = models.DateTimeField(auto_now_add=True)
    terminated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.agreement_no
