"""Organizations and their members, 四心 campaigns, beneficiary lists and their rows."""

from __future__ import annotations

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from enrollment.models.accounts import Resident
from enrollment.models.base import MONEY
from enrollment.models.orders import Channel, Order, Policy
from enrollment.models.products import Plan
from portal import crypto
from portal.storage import private_storage

# --- Organizations, campaigns, beneficiary lists, the charity fund --------------------------------


@pghistory.track()
class Organization(models.Model):
    """An employer, collective, department, charity or mass organization that buys for others.
    Identified by its unified social credit code; staff approve it before it may buy."""

    PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
    STATUS_CHOICES = [(PENDING, "待审核"), (APPROVED, "已通过"), (REJECTED, "未通过")]
    KIND_CHOICES = [
        ("employer", "用工企业/单位"),
        ("collective", "集体经济组织"),
        ("civil_affairs", "民政部门"),
        ("charity", "慈善组织"),
        ("trade_union", "工会"),
        ("youth_league", "共青团"),
        ("women_federation", "妇联"),
        ("disabled_federation", "残联"),
        ("assistance_unit", "帮扶单位"),
        ("other", "其他"),
    ]

    name = models.CharField("单位名称", max_length=100)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    kind = models.CharField("单位类型", max_length=20, choices=KIND_CHOICES)
    contact_name = models.CharField("联系人", max_length=50)
    contact_phone = models.CharField("联系电话", max_length=20)
    invoice_title = models.CharField("发票抬头", max_length=100, blank=True)
    status = FSMField("审核状态", default=PENDING, choices=STATUS_CHOICES, protected=False)
    review_note = models.CharField("审核意见", max_length=200, blank=True)
    reviewed_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name="审核人")
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    created_at = models.DateTimeField("注册时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "投保单位"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @transition(field=status, source=[PENDING, REJECTED], target=APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=PENDING, target=REJECTED)
    def reject(self) -> None:
        pass


class OrganizationPayroll(models.Model):
    """An employer's (or collective's) declared payroll for a tax year: the base of the 5% limit
    its premium receipts show (Weihai notice; 企业所得税法实施条例 第三十五条)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="payrolls",
                                     verbose_name="单位")
    year = models.PositiveSmallIntegerField("纳税年度")
    amount = models.DecimalField("职工工资总额（元）", max_digits=16, decimal_places=2)
    declared_by = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+", verbose_name="申报人")
    declared_at = models.DateTimeField("申报时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "单位工资总额申报"
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="payroll_once_per_year"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payroll_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.year}年工资总额 {self.amount}元"


class OrganizationMember(models.Model):
    """A resident account acting for an organization: a manager (members, confirming and paying)
    or an operator (uploading and fixing lists)."""

    MANAGER, OPERATOR = "manager", "operator"
    ROLE_CHOICES = [(MANAGER, "管理员"), (OPERATOR, "经办人")]

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members",
                                     verbose_name="单位")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="memberships", verbose_name="账户")
    role = models.CharField("角色", max_length=10, choices=ROLE_CHOICES, default=OPERATOR)
    added_at = models.DateTimeField("加入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "单位经办人"
        constraints = [models.UniqueConstraint(fields=["organization", "resident"], name="member_once")]

    def __str__(self) -> str:
        return f"{self.organization}：{self.resident}（{self.get_role_display()}）"


class OrganizationInvitation(models.Model):
    """A manager's invitation to a mobile number to act for the organization. It is sent by SMS
    whether or not the number has an account (the manager is told the same either way) and waits
    for that number's account to accept it. The number is kept as its blind index and masked."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations",
                                     verbose_name="单位")
    phone_hash = models.CharField("手机号检索码", max_length=64, db_index=True, editable=False)
    phone_masked = models.CharField("手机号", max_length=11, editable=False)
    role = models.CharField("角色", max_length=10, choices=OrganizationMember.ROLE_CHOICES)
    invited_by = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+", verbose_name="邀请人")
    created_at = models.DateTimeField("邀请时间", auto_now_add=True)
    expires_at = models.DateTimeField("有效期至")
    answered_at = models.DateTimeField("处理时间", null=True, blank=True)
    accepted = models.BooleanField("已接受", null=True)

    class Meta:
        verbose_name = verbose_name_plural = "经办人邀请"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["organization", "phone_hash"],
                                               condition=Q(answered_at__isnull=True), name="one_open_invitation")]

    def __str__(self) -> str:
        return f"{self.organization}：{self.phone_masked}"


class CampaignKind(models.TextChoices):
    JINGXIAO = "jingxiao", "敬孝心"
    XIANAI = "xianai", "献爱心"
    TONGXIN = "tongxin", "筑同心"
    NUANREN = "nuanren", "暖人心"


class TargetRule(models.TextChoices):
    ELDERLY = "elderly", "老年人（达到最低年龄）"
    HARDSHIP = "hardship", "困难群体（以医保登记的困难身份为准）"
    MEMBERS = "members", "本单位职工、成员或所联系服务对象（由发起单位申报）"


class HardshipStatus(models.TextChoices):
    MEDICAL_ASSISTANCE = "medical_assistance", "医疗救助对象"
    DIBAO = "dibao", "低保对象"
    TEKUN = "tekun", "特困人员"
    MONITORED = "monitored", "防返贫监测对象"


class Campaign(models.Model):
    """A 四心 drive: who organizes it, for whom, under which plan, with a target and a budget."""

    kind = models.CharField("活动类型", max_length=10, choices=CampaignKind.choices)
    name = models.CharField("活动名称", max_length=100)
    slug = models.SlugField("网址代码", unique=True)
    organizer = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="campaigns", verbose_name="发起单位",
                                  help_text="留空表示由经办机构发起，个人爱心人士可参与。")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="campaigns", verbose_name="产品方案")
    target_group = models.CharField("帮扶对象", max_length=100)
    # The rule every list row is held to (enrollment.targeting): one per campaign.
    target_rule = models.CharField("资助对象规则", max_length=10, choices=TargetRule.choices, default=TargetRule.MEMBERS)
    min_age = models.PositiveSmallIntegerField("最低年龄（周岁）", null=True, blank=True,
                                               help_text="“老年人”规则：保障开始日达到的年龄")
    hardship_statuses = ArrayField(models.CharField(max_length=20, choices=HardshipStatus.choices),
                                   verbose_name="困难身份", default=list, blank=True,
                                   help_text="“困难群体”规则：医保登记为其中任一身份即可")
    target_count = models.PositiveIntegerField("目标人数")
    budget = models.DecimalField("预算（元）", **MONEY)
    description = models.TextField("活动说明", blank=True)
    public = models.BooleanField("公开展示", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "“四心”活动"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"【{self.get_kind_display()}】{self.name}"

    @property
    def target_rule_text(self) -> str:
        if self.target_rule == TargetRule.ELDERLY:
            return f"{self.min_age}周岁及以上老人"
        if self.target_rule == TargetRule.HARDSHIP:
            labels = dict(HardshipStatus.choices)
            return "、".join(labels.get(s, s) for s in self.hardship_statuses)
        return "发起单位的职工、成员或所联系服务对象（由发起单位申报）"


class BeneficiaryList(models.Model):
    """An uploaded list of people to buy for, validated row by row in a Celery task."""

    VALIDATING, VALIDATED, FAILED, CONFIRMING, ORDERED = "validating", "validated", "failed", "confirming", "ordered"
    STATUS_CHOICES = [(VALIDATING, "校验中"), (VALIDATED, "待确认"), (FAILED, "校验未完成"), (CONFIRMING, "下单中"),
                      (ORDERED, "已下单")]

    number = models.CharField("名单编号", max_length=32, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="lists", verbose_name="投保单位")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="lists",
                                 verbose_name="“四心”活动")
    uploaded_by = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="beneficiary_lists",
                                    verbose_name="上传人")
    channel = models.CharField("渠道", max_length=12, choices=Channel.choices)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name="方案")
    file = models.FileField("名单文件", upload_to="lists/%Y/%m/", storage=private_storage)
    file_name = models.CharField("原文件名", max_length=200)
    members_declared = models.BooleanField(
        "已申报为本单位职工/成员/服务对象", default=False,
        help_text="“本单位职工、成员或所联系服务对象”类活动：上传人申报名单人员均属此列")
    status = models.CharField("状态", max_length=12, choices=STATUS_CHOICES, default=VALIDATING)
    total_rows = models.PositiveIntegerField("总行数", default=0)
    processed_rows = models.PositiveIntegerField("已校验", default=0)
    failure = models.CharField("未完成原因", max_length=300, blank=True)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="beneficiary_list", verbose_name="订单")
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    # Who confirmed and from where, kept while the confirm task runs (the consents record them).
    confirmed_by = models.ForeignKey(Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name="确认人")
    confirm_ip = models.GenericIPAddressField("确认IP", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "参保名单"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.processed_rows * 100 // self.total_rows)


class BeneficiaryRow(models.Model):
    """One row of a list and its outcome. The ID number is kept like a Person's: encrypted, found by
    its hash, shown masked; a value that is not an ID number is kept only masked."""

    VALID, INVALID, DROPPED, REFUSED, ISSUED, CANCELLED = "valid", "invalid", "dropped", "refused", "issued", "cancelled"
    STATUS_CHOICES = [(VALID, "通过"), (INVALID, "未通过"), (DROPPED, "已剔除"), (REFUSED, "下单时已参保"),
                      (ISSUED, "已出单"), (CANCELLED, "已退保")]

    list = models.ForeignKey(BeneficiaryList, on_delete=models.CASCADE, related_name="rows", verbose_name="名单")
    row_number = models.PositiveIntegerField("行号")
    name = models.CharField("姓名", max_length=60)
    id_cipher = models.TextField("身份证号（密文）", blank=True)
    id_hash = models.CharField("身份证号检索码", max_length=64, blank=True, db_index=True)
    id_masked = models.CharField("身份证号", max_length=40)
    phone_cipher = models.TextField("手机号（密文）", blank=True)
    status = models.CharField("结果", max_length=10, choices=STATUS_CHOICES)
    code = models.CharField("原因代码", max_length=40, blank=True)
    message = models.CharField("说明", max_length=300, blank=True)
    price = models.DecimalField("保费", null=True, blank=True, **MONEY)
    medical_assistance = models.BooleanField("医疗救助对象", default=False)
    insured_region = models.CharField("参保地区划码", max_length=12, blank=True)
    policy = models.OneToOneField(Policy, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name="保单")

    class Meta:
        verbose_name = verbose_name_plural = "名单行"
        ordering = ["list", "row_number"]
        constraints = [models.UniqueConstraint(fields=["list", "row_number"], name="list_row_once")]

    phone = crypto.sealed("phone_cipher", doc="手机号（可为空）")

    def __str__(self) -> str:
        return f"{self.list.number} 第{self.row_number}行"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_cipher) if self.id_cipher else ""
