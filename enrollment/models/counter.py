"""Counter-assisted enrollment (柜面代办): service points, cashier shifts and each enrollment made
at a counter for a resident without a smartphone (Wuwei: 承保理赔依托自有网点及队伍)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from enrollment.models.base import MONEY
from enrollment.models.orders import Order
from enrollment.models.products import Program
from portal import crypto
from portal.storage import private_storage


class ServicePoint(models.Model):
    """A service point (服务网点) of the program's insurers where staff enroll residents."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="service_points", verbose_name="项目")
    name = models.CharField("网点名称", max_length=100)
    address = models.CharField("地址", max_length=200, blank=True)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "服务网点"
        ordering = ["program", "name"]
        constraints = [models.UniqueConstraint(fields=["program", "name"], name="service_point_unique_name")]

    def __str__(self) -> str:
        return self.name


class CashierShift(models.Model):
    """One staff member's cashier shift at a service point: every counter payment is recorded
    against it, and closing it states the cash expected and counted and the card total."""

    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="shifts",
                                      verbose_name="服务网点")
    staff = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="cashier_shifts",
                              verbose_name="收款员")
    opened_at = models.DateTimeField("开班时间", auto_now_add=True)
    closed_at = models.DateTimeField("结班时间", null=True, blank=True)
    cash_expected = models.DecimalField("应收现金", null=True, blank=True, **MONEY)
    cash_counted = models.DecimalField("实点现金", null=True, blank=True, **MONEY)
    card_total = models.DecimalField("刷卡合计", null=True, blank=True, **MONEY)
    note = models.CharField("结班说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "收款班次"
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["staff"], condition=Q(closed_at__isnull=True), name="one_open_shift"),
        ]

    def __str__(self) -> str:
        return f"{self.service_point} {self.staff} {timezone.localtime(self.opened_at):%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def difference(self) -> Decimal | None:
        if self.cash_counted is None or self.cash_expected is None:
            return None
        return self.cash_counted - self.cash_expected


class CounterEnrollment(models.Model):
    """What the counter adds to an order: who enrolled the resident, at which shift, that the ID
    card was checked, the scan of the signed paper consent (encrypted at rest), how it was paid."""

    CASH, CARD = "counter_cash", "counter_card"

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="counter", verbose_name="订单")
    shift = models.ForeignKey(CashierShift, on_delete=models.PROTECT, related_name="enrollments", verbose_name="班次")
    staff = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name="经办人")
    id_card_checked = models.BooleanField("已核验居民身份证原件", default=False)
    phone_cipher = models.TextField("联系电话（密文）", blank=True, editable=False)
    consent_scan = models.FileField("签字授权书扫描件（加密存储）", upload_to="counter/%Y/%m/", storage=private_storage)
    consent_type = models.CharField("扫描件类型", max_length=40)
    card_reference = models.CharField("刷卡参考号", max_length=40, blank=True)
    created_at = models.DateTimeField("办理时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "柜面代办投保"
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(id_card_checked=True), name="counter_id_card_checked")]

    phone = crypto.sealed("phone_cipher", doc="联系电话（可为空）")

    def __str__(self) -> str:
        return f"柜面投保 {self.order.number}"
