"""Supervision and service: the eligible population per district, who works
for which insurer, customer-service tickets and follow-up visits (回访)."""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal import crypto
from portal.storage import private_storage


class DistrictPopulation(models.Model):
    """The basic-insurance population of one district in one year: the enrollment rate's base."""

    program = models.ForeignKey("enrollment.Program", on_delete=models.CASCADE, related_name="+",
                                verbose_name="项目")
    year = models.PositiveSmallIntegerField("年度")
    region_code = models.CharField("行政区划码", max_length=6)
    name = models.CharField("区县", max_length=50)
    eligible = models.PositiveIntegerField("基本医保参保人数")

    class Meta:
        verbose_name = verbose_name_plural = "区县参保人口"
        ordering = ["program", "year", "region_code"]
        constraints = [models.UniqueConstraint(fields=["program", "year", "region_code"], name="district_year_once")]
        permissions = [("view_dashboard", "查看监管看板"), ("handle_service", "处理客服工单与回访")]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"


class InsurerStaff(models.Model):
    """A staff account working for one co-insurer: sees that insurer's programs only."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="insurer",
                                verbose_name="账户")
    coinsurer = models.ForeignKey("enrollment.CoInsurer", on_delete=models.CASCADE, related_name="staff",
                                  verbose_name="保险公司")

    class Meta:
        verbose_name = verbose_name_plural = "保险公司人员"

    def __str__(self) -> str:
        return f"{self.user} @ {self.coinsurer.name}"


class Ticket(models.Model):
    """A resident's (or an organization user's) enquiry, complaint or claim dispute."""

    ENQUIRY, COMPLAINT, DISPUTE = "enquiry", "complaint", "dispute"
    KIND_CHOICES = [(ENQUIRY, "咨询"), (COMPLAINT, "投诉"), (DISPUTE, "理赔争议")]
    OPEN, IN_PROGRESS, WAITING, RESOLVED, CLOSED = "open", "in_progress", "waiting", "resolved", "closed"
    STATUS_CHOICES = [(OPEN, "待受理"), (IN_PROGRESS, "处理中"), (WAITING, "待居民补充"), (RESOLVED, "已解决"),
                      (CLOSED, "已关闭")]
    DONE = (RESOLVED, CLOSED)
    # Service-level clock: a first reply within this time (complaints and disputes sooner).
    FIRST_RESPONSE = {ENQUIRY: timedelta(hours=48), COMPLAINT: timedelta(hours=24), DISPUTE: timedelta(hours=24)}

    number = models.CharField("工单号", max_length=32, unique=True)
    resident = models.ForeignKey("enrollment.Resident", on_delete=models.PROTECT, related_name="tickets",
                                 verbose_name="提交账户")
    organization = models.ForeignKey("enrollment.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="tickets", verbose_name="代表单位")
    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES)
    subject = models.CharField("标题", max_length=100)
    policy = models.ForeignKey("enrollment.Policy", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name="相关保单")
    claim = models.ForeignKey("claims.Claim", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name="相关理赔")
    status = models.CharField("状态", max_length=12, choices=STATUS_CHOICES, default=OPEN)
    assignee = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name="经办人")
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    respond_by = models.DateTimeField("应首次答复时间")
    first_response_at = models.DateTimeField("首次答复时间", null=True, blank=True)
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "客服工单"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "respond_by"])]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name="工单")
    from_staff = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name="客服")
    from_resident = models.ForeignKey("enrollment.Resident", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name="居民")
    body = models.TextField("内容")
    attachment = models.FileField("附件", storage=private_storage, upload_to="tickets/%Y/%m/", blank=True)
    attachment_name = models.CharField("附件名", max_length=200, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "工单回复"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket.number} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class FollowUpVisit(models.Model):
    """A follow-up call (回访) to a recent claimant or buyer, drawn at random by staff."""

    CLAIMANT, BUYER = "claimant", "buyer"
    PURPOSE_CHOICES = [(CLAIMANT, "理赔回访"), (BUYER, "投保回访")]
    PENDING, REACHED, NO_ANSWER, REFUSED, WRONG_NUMBER = "pending", "reached", "no_answer", "refused", "wrong_number"
    OUTCOME_CHOICES = [(PENDING, "待回访"), (REACHED, "已接通"), (NO_ANSWER, "无人接听"), (REFUSED, "拒绝回访"),
                       (WRONG_NUMBER, "号码错误")]

    purpose = models.CharField("类型", max_length=10, choices=PURPOSE_CHOICES)
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="+",
                               verbose_name="回访对象")
    program = models.ForeignKey("enrollment.Program", on_delete=models.PROTECT, related_name="+",
                                verbose_name="项目")
    phone_cipher = models.TextField("联系电话（密文）", blank=True, editable=False)
    outcome = models.CharField("结果", max_length=12, choices=OUTCOME_CHOICES, default=PENDING)
    satisfaction = models.PositiveSmallIntegerField("满意度（1–5）", null=True, blank=True,
                                                    validators=[MinValueValidator(1), MaxValueValidator(5)])
    notes = models.TextField("记录", blank=True)
    drawn_at = models.DateTimeField("抽取时间", auto_now_add=True)
    called_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name="回访人")
    called_at = models.DateTimeField("回访时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "回访"
        ordering = ["-drawn_at"]
        constraints = [models.CheckConstraint(
            condition=models.Q(satisfaction__isnull=True) | models.Q(satisfaction__gte=1, satisfaction__lte=5),
            name="visit_satisfaction_range")]

    phone = crypto.sealed("phone_cipher", doc="联系电话（可为空）")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.person}"


class SurplusPool(models.Model):
    """The pool of one program's assessment cycle (Wuwei 结余部分结转资金池，用于下一年度给付): a year's
    surplus enters the pool of the cycle that holds the next year, and payouts drawn from it are
    recorded against it. The balance is the sum of the entries, never negative (row lock + check)."""

    program = models.ForeignKey("enrollment.Program", on_delete=models.PROTECT, related_name="pools",
                                verbose_name="项目")
    cycle_start = models.PositiveSmallIntegerField("考核周期起始年度")
    cycle_years = models.PositiveSmallIntegerField("周期年数")
    balance = models.DecimalField("余额（元）", max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = verbose_name_plural = "结余资金池"
        ordering = ["program", "cycle_start"]
        constraints = [
            models.UniqueConstraint(fields=["program", "cycle_start"], name="pool_once_per_cycle"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="pool_balance_not_negative"),
        ]

    def __str__(self) -> str:
        end = self.cycle_start + self.cycle_years - 1
        years = f"{self.cycle_start}年" if end == self.cycle_start else f"{self.cycle_start}–{end}年"
        return f"{self.program} {years}结余资金池"


class PoolEntry(models.Model):
    """One movement of a pool: a year's surplus in (once per product version), a use out."""

    SURPLUS, USE = "surplus", "use"
    KIND_CHOICES = [(SURPLUS, "年度结余转入"), (USE, "用于给付")]

    pool = models.ForeignKey(SurplusPool, on_delete=models.PROTECT, related_name="entries", verbose_name="资金池")
    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES)
    version = models.ForeignKey("enrollment.ProductVersion", on_delete=models.PROTECT, related_name="+",
                                verbose_name="年度", help_text="结余转入：产生结余的年度；用于给付：被给付的年度")
    amount = models.DecimalField("金额（元）", max_digits=14, decimal_places=2, help_text="转入为正，使用为负")
    balance_after = models.DecimalField("变动后余额", max_digits=14, decimal_places=2)
    # The figures the surplus was computed from, kept as they were at the close.
    premiums = models.DecimalField("保费收入", max_digits=14, decimal_places=2, null=True, blank=True)
    claims = models.DecimalField("赔款（已付+未决）", max_digits=14, decimal_places=2, null=True, blank=True)
    operating = models.DecimalField("经营费用", max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name="经办人")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "资金池流水"
        ordering = ["pool", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version"], condition=models.Q(kind="surplus"),
                                    name="surplus_closed_once_per_version"),
            models.CheckConstraint(condition=models.Q(kind="surplus", amount__gte=0) | models.Q(kind="use", amount__lt=0),
                                   name="pool_entry_sign"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}元"
