"""State kept by the local simulators of the external systems we cannot reach here.

Each simulator stands where the real system would (SMS gateway, basic-insurance registry) and
keeps its own tables, separate from the portal's: the portal only ever talks to them through its
adapters (``portal.sms``, ``enrollment.registry``). The payment providers' simulator lives with its
adapters in ``portal/integrations/payments/simulator/``.
"""

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models

MONEY = {"max_digits": 12, "decimal_places": 2}


class RegistryStatus(models.TextChoices):
    IN_FORCE = "in_force", "参保缴费正常"
    NOT_INSURED = "not_insured", "未参保"
    SUSPENDED = "suspended", "暂停参保"


HARDSHIP_CHOICES = [("dibao", "低保对象"), ("tekun", "特困人员"), ("monitored", "防返贫监测对象")]


class RosterEntry(models.Model):
    """One person's basic-insurance status as the simulated registry knows it (staff import it)."""

    EMPLOYEE, RESIDENT = "employee", "resident"
    CATEGORY_CHOICES = [(EMPLOYEE, "职工医保"), (RESIDENT, "城乡居民医保")]

    id_hash = models.CharField("身份证号检索码", max_length=64, unique=True, editable=False)
    id_masked = models.CharField("身份证号", max_length=18, db_index=True, editable=False)
    name = models.CharField("姓名", max_length=50)
    status = models.CharField("参保状态", max_length=12, choices=RegistryStatus.choices)
    insured_region = models.CharField("参保地区码", max_length=6)
    category = models.CharField("险种", max_length=10, choices=CATEGORY_CHOICES)
    medical_assistance = models.BooleanField("医疗救助对象", default=False)
    veteran = models.BooleanField("退役军人", default=False)
    newborn = models.BooleanField("新生儿", default=False)
    joined_on = models.DateField("参加基本医保日期", null=True, blank=True)
    account_balance = models.DecimalField("个人账户余额（元）", default=Decimal("0.00"), **MONEY)
    hardship = ArrayField(models.CharField(max_length=20, choices=HARDSHIP_CHOICES), verbose_name="困难身份",
                          default=list, blank=True)
    # 家庭共济: the relatives (blind indexes of their ID numbers) whose costs this employee's
    # personal account may pay, as bound at the bureau.
    family_hashes = ArrayField(models.CharField(max_length=64), verbose_name="家庭共济绑定", default=list,
                               blank=True, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "基本医保参保名册（模拟）"

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"


class AccountTrade(models.Model):
    """A premium paid from an employee's personal account on the simulated platform (C201)."""

    out_trade_no = models.CharField("商户订单号", max_length=64, unique=True)
    trade_no = models.CharField("平台交易号", max_length=40, unique=True)
    payer_hash = models.CharField(max_length=64, editable=False)
    psn_no = models.CharField("人员编号", max_length=30)
    amount = models.DecimalField("金额（元）", **MONEY)
    description = models.CharField("摘要", max_length=128, blank=True)
    auth_text = models.CharField("授权文本版本", max_length=60, blank=True)
    auth_time = models.CharField("授权时间", max_length=19, blank=True)
    paid_at = models.DateTimeField("支付时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "医保个人账户缴费（模拟）"

    def __str__(self) -> str:
        return self.trade_no


class AccountRefund(models.Model):
    """Money given back to the personal account (C202)."""

    trade = models.ForeignKey(AccountTrade, on_delete=models.CASCADE, related_name="refunds")
    out_refund_no = models.CharField("商户退费单号", max_length=64, unique=True)
    refund_no = models.CharField("平台退费号", max_length=40, unique=True)
    amount = models.DecimalField("金额（元）", **MONEY)
    refunded_at = models.DateTimeField("退费时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "医保个人账户退费（模拟）"

    def __str__(self) -> str:
        return self.refund_no
