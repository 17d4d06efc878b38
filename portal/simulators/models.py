"""State kept by the local simulators of the external systems we cannot reach here.

Each simulator stands where the real system would (SMS gateway, basic-insurance registry) and
keeps its own tables, separate from the portal's: the portal only ever talks to them through its
adapters (``portal.sms``, ``enrollment.registry``). The payment providers' simulator lives with its
adapters in ``portal/integrations/payments/simulator/``.
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
    joined_on = models.DateField("参加基本医保日期", null=True, blank=True)
    account_balance = models.DecimalField("个人账户余额（元）", default=Decimal("0.00"), **MONEY)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "基本医保参保名册（模拟）"

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"
