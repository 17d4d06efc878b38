"""Settlements as received, the policy year's accumulators, claims and their lines.

Money already recorded is never rewritten: a recomputation of the policy year writes only the
difference, as new lines (``ClaimLine.kind == ADJUSTMENT`` once a claim has been calculated).
The sum of a claim's lines is what the claim pays.
"""

from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, transition

from portal import crypto
from portal.storage import PrivateStorage, private_storage  # noqa: F401 - migrations name claims.models.private_storage

MONEY = {"max_digits": 12, "decimal_places": 2}


class SettlementSource(models.Model):
    """A sending system (a hospital's or the bureau's one-stop settlement feed) with its own
    signing credentials. ``staff`` and ``resident`` sources stand for the admin import and the
    resident's own submission."""

    FEED, STAFF, RESIDENT = "feed", "staff", "resident"
    KIND_CHOICES = [(FEED, "一站式结算接口"), (STAFF, "工作人员导入"), (RESIDENT, "居民申请（异地就医）")]

    code = models.SlugField("代码", unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES, default=FEED)
    program = models.ForeignKey("enrollment.Program", on_delete=models.PROTECT, related_name="+", verbose_name="项目")
    key_id = models.CharField("接入密钥编号", max_length=40, unique=True)
    secret_cipher = models.TextField("签名密钥（密文）", blank=True)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "结算数据来源"

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(
    condition=pghistory.AnyChange("pre_existing_corrected", "correction_reason", "reversed_at", "policy")))
class Settlement(models.Model):
    """One hospital settlement as received and its parsed fields. The record is kept verbatim but
    for its ID number, which is kept only encrypted (``id_cipher``, the value as sent) and as a blind
    index (``id_hash``), history copies included; ``received`` puts it back."""

    MATCHED, UNMATCHED = "matched", "unmatched"
    MATCH_CHOICES = [(MATCHED, "已匹配保单"), (UNMATCHED, "未匹配保单")]

    source = models.ForeignKey(SettlementSource, on_delete=models.PROTECT, related_name="settlements",
                               verbose_name="来源")
    settlement_id = models.CharField("结算单号", max_length=64)
    record = models.JSONField("原始记录（不含身份证号）")
    id_cipher = models.TextField("身份证号（密文）", blank=True, default="", editable=False)
    content_hash = models.CharField("内容摘要", max_length=64)
    id_hash = models.CharField("身份证号检索码", max_length=64, db_index=True, editable=False)
    id_masked = models.CharField("身份证号", max_length=18, db_index=True)
    name = models.CharField("姓名", max_length=50)
    hospital_code = models.CharField("医院编码", max_length=64, db_index=True)
    hospital_name = models.CharField("医院", max_length=200)
    admission_date = models.DateField("入院日期")
    settled_at = models.DateTimeField("结算时间")
    pre_existing = models.BooleanField("既往症（来源）")
    pre_existing_corrected = models.BooleanField("既往症（审核更正）", null=True, blank=True)
    correction_reason = models.CharField("更正原因", max_length=200, blank=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="replaced_by", verbose_name="冲正的原结算单")
    reversed_at = models.DateTimeField("冲正时间", null=True, blank=True)
    policy = models.ForeignKey("enrollment.Policy", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="settlements", verbose_name="保单")
    match_status = models.CharField("匹配", max_length=10, choices=MATCH_CHOICES)
    unmatched_reason = models.CharField("未匹配原因", max_length=200, blank=True)
    received_at = models.DateTimeField("接收时间", auto_now_add=True)
    window = models.BooleanField("医院窗口即时结算", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "结算单"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "settlement_id"], name="settlement_once_per_source"),
        ]

    def __str__(self) -> str:
        return self.settlement_id

    @property
    def effective_pre_existing(self) -> bool:
        return self.pre_existing if self.pre_existing_corrected is None else self.pre_existing_corrected

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_cipher) if self.id_cipher else ""

    @property
    def received(self) -> dict:
        """The record as received, its ID number put back from the encrypted column."""
        if not self.id_cipher:
            return dict(self.record)
        return {**self.record, "id_number": self.id_number}

    @staticmethod
    def sealed(record: dict) -> tuple[dict, str]:
        """What is stored of a received record: the record without its ID number, and the ID as
        sent, encrypted ("" when the record has none)."""
        stored = {key: value for key, value in record.items() if key != "id_number"}
        raw = record.get("id_number")
        return stored, (crypto.encrypt(raw) if isinstance(raw, str) and raw else "")


class PolicyYear(models.Model):
    """The accumulators of one policy, as of its last recomputation (always recomputable)."""

    policy = models.OneToOneField("enrollment.Policy", on_delete=models.PROTECT, related_name="year",
                                  verbose_name="保单")
    deductible_used = models.JSONField("已用免赔额", default=dict)
    band_position = models.DecimalField("累计分段位置", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    cumulative = models.JSONField("各责任累计赔付（精确）", default=dict)
    paid = models.JSONField("各责任累计赔付", default=dict)
    revision = models.PositiveIntegerField("重算次数", default=0)
    computed_at = models.DateTimeField("重算时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "保单年度"

    def __str__(self) -> str:
        return f"{self.policy} 年度累计"


# Reasons a reviewer may reject a claim (the rules' own reasons are in claims.rules.model).
REJECTION_CODES = [
    ("not_medically_necessary", "非必要医疗费用"),
    ("pre_existing_excluded", "既往症不属于保障范围"),
    ("documents_insufficient", "材料不全或无法核实"),
    ("fraud_suspected", "疑似虚假或欺诈理赔"),
    ("duplicate_claim", "重复申请"),
    ("other", "其他（见说明）"),
]
REJECTION_LABELS = dict(REJECTION_CODES) | {
    "not_covered": "不属于保险责任",
    "outside_coverage": "不在保障期内",
    "not_insured": "非本保单被保险人",
    "duplicate": "重复结算",
    "reversed": "原结算单已冲正",
}
FLAG_LABELS = {
    "above_auto_limit": "超过自动审核金额",
    "pre_existing": "既往症",
    "adjusted_after_payment": "支付后调整",
    "manual_entry": "人工录入（异地就医）",
}


# Statement-level history triggers on the tables the recompute writes in bulk: one trigger call
# (and one history context lookup) per statement, the same event rows.
@pghistory.track(level=pgtrigger.Statement)
class Claim(models.Model):
    """One settlement's adjudication and its review.

    ``payout`` is what the claim pays now (the sum of its lines); ``paid_amount`` what payment
    batches have paid so far. Their difference is payable (negative: to be recovered)."""

    RECEIVED, CALCULATED, PENDING_REVIEW, PENDING_SECOND, APPROVED, REJECTED, PAID = (
        "received", "calculated", "pending_review", "pending_second", "approved", "rejected", "paid")
    STATE_CHOICES = [
        (RECEIVED, "已接收"),
        (CALCULATED, "已计算"),
        (PENDING_REVIEW, "待审核"),
        (PENDING_SECOND, "待复核"),
        (APPROVED, "已审核通过"),
        (REJECTED, "已拒赔"),
        (PAID, "已支付"),
    ]
    OPEN_FOR_REVIEW = (PENDING_REVIEW, PENDING_SECOND)

    settlement = models.OneToOneField(Settlement, on_delete=models.PROTECT, related_name="claim",
                                      verbose_name="结算单")
    policy = models.ForeignKey("enrollment.Policy", on_delete=models.PROTECT, related_name="claims",
                               verbose_name="保单")
    outcome = models.CharField("计算结果", max_length=10, blank=True)  # accepted / rejected / reversed
    reason = models.CharField("不予赔付原因", max_length=20, blank=True)
    payout = models.DecimalField("赔付金额", default=Decimal("0.00"), **MONEY)
    paid_amount = models.DecimalField("已支付金额", default=Decimal("0.00"), **MONEY)
    state = FSMField("状态", default=RECEIVED, choices=STATE_CHOICES, protected=False)
    flags = ArrayField(models.CharField(max_length=30), default=list, blank=True, verbose_name="标记")
    rejection_code = models.CharField("拒赔原因代码", max_length=30, blank=True)
    decision_note = models.CharField("审核意见", max_length=500, blank=True)
    first_approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name="审核人")
    second_approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name="复核人")
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name="拒赔人")
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "理赔"
        ordering = ["-created_at"]
        permissions = [
            ("review_claim", "审核理赔（更正、审核、拒赔）"),
            ("second_approve_claim", "复核大额理赔（双人审批）"),
            ("manage_payout_batch", "管理赔款支付批次"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(payout__gte=0), name="claim_payout_not_negative"),
            # Four eyes: the second approver is never the first.
            models.CheckConstraint(
                condition=Q(second_approver__isnull=True) | ~Q(second_approver=F("first_approver")),
                name="claim_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.settlement.settlement_id}（{self.get_state_display()}）"

    @property
    def payable(self) -> Decimal:
        return self.payout - self.paid_amount

    @property
    def flag_labels(self) -> list[str]:
        return [FLAG_LABELS.get(flag, flag) for flag in self.flags]

    @property
    def rejection_label(self) -> str:
        return REJECTION_LABELS.get(self.rejection_code, self.rejection_code)

    @transition(field=state, source=[RECEIVED, CALCULATED, PENDING_REVIEW, PENDING_SECOND, APPROVED, REJECTED, PAID],
                target=CALCULATED)
    def calculate(self) -> None:
        self.first_approver = self.second_approver = None
        self.decided_at = None

    @transition(field=state, source=CALCULATED, target=REJECTED)
    def reject_by_rules(self) -> None:
        """The rules pay nothing for it (not covered, outside coverage, not insured, duplicate)."""

    @transition(field=state, source=CALCULATED, target=APPROVED)
    def approve_automatically(self) -> None:
        pass

    @transition(field=state, source=CALCULATED, target=PENDING_REVIEW)
    def hold_for_review(self) -> None:
        pass

    @transition(field=state, source=PENDING_REVIEW, target=PENDING_SECOND)
    def approve_first(self) -> None:
        """A reviewer approves a payout that needs a second approver."""

    @transition(field=state, source=OPEN_FOR_REVIEW, target=APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=state, source=[PENDING_REVIEW, PENDING_SECOND, APPROVED], target=REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=state, source=APPROVED, target=PAID)
    def mark_paid(self) -> None:
        pass


@pghistory.track(pghistory.InsertEvent(), level=pgtrigger.Statement)
class ClaimLine(models.Model):
    """A payout on one responsibility: the first computation, then only differences."""

    ORIGINAL, ADJUSTMENT = "original", "adjustment"
    KIND_CHOICES = [(ORIGINAL, "首次计算"), (ADJUSTMENT, "调整")]

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines", verbose_name="理赔")
    responsibility = models.CharField("保险责任", max_length=50)
    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES)
    covered = models.DecimalField("保障范围内费用", **MONEY)
    deductible = models.DecimalField("扣除免赔额", **MONEY)
    payout = models.DecimalField("赔付（差额）", **MONEY)
    explanation = models.TextField("说明")
    reason = models.CharField("调整原因", max_length=200, blank=True)
    revision = models.PositiveIntegerField("重算序号")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "理赔明细"
        ordering = ["claim", "revision", "id"]

    def __str__(self) -> str:
        return f"{self.responsibility} {self.payout}"


@pghistory.track()
class PayoutBatch(models.Model):
    """Approved payouts exported together for a program's insurers, then confirmed paid."""

    OPEN, RECONCILED = "open", "reconciled"
    STATUS_CHOICES = [(OPEN, "待支付"), (RECONCILED, "已对账")]

    number = models.CharField("批次号", max_length=32, unique=True)
    program = models.ForeignKey("enrollment.Program", on_delete=models.PROTECT, related_name="+", verbose_name="项目")
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=OPEN)
    total = models.DecimalField("合计金额", **MONEY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name="创建人")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    paid_total = models.DecimalField("已支付金额", default=Decimal("0.00"), **MONEY)
    reconciled_at = models.DateTimeField("对账时间", null=True, blank=True)
    reconciliation = models.JSONField("对账结果", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "赔款支付批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


@pghistory.track()
class PayoutItem(models.Model):
    """One claim's payable amount in a batch (negative: to be recovered). A claim waits in at
    most one batch; an item the insurer did not pay is closed as failed and paid in a later one."""

    PENDING, PAID, FAILED = "pending", "paid", "failed"
    STATUS_CHOICES = [(PENDING, "待支付"), (PAID, "已支付"), (FAILED, "未支付")]

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="items", verbose_name="批次")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payout_items", verbose_name="理赔")
    amount = models.DecimalField("支付金额", **MONEY)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=PENDING)
    payee = models.ForeignKey("Payee", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name="收款账户")  # a payment's account; a recovery has none

    class Meta:
        verbose_name = verbose_name_plural = "支付明细"
        constraints = [
            models.UniqueConstraint(fields=["claim"], condition=Q(status="pending"), name="claim_in_one_open_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.amount}"




class ClaimStage(models.Model):
    """One step of a claim's progress as the resident follows it on 我的理赔, recorded by the service
    that caused it (intake and recompute, review, document requests, payout batches, the window)."""

    RECEIVED, CALCULATED, IN_REVIEW, DOCUMENTS_REQUESTED, DOCUMENTS_RECEIVED = (
        "received", "calculated", "in_review", "documents_requested", "documents_received")
    APPROVED, REJECTED, PAID, CLEARED = "approved", "rejected", "paid", "cleared"
    STAGE_CHOICES = [
        (RECEIVED, "已接收结算信息"),
        (CALCULATED, "已计算赔付"),
        (IN_REVIEW, "人工审核中"),
        (DOCUMENTS_REQUESTED, "需补充材料"),
        (DOCUMENTS_RECEIVED, "已补充材料"),
        (APPROVED, "审核通过"),
        (REJECTED, "不予赔付"),
        (PAID, "赔款已支付"),
        (CLEARED, "结算款已与医院清算"),
    ]

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="stages", verbose_name="理赔")
    stage = models.CharField("进度", max_length=20, choices=STAGE_CHOICES)
    at = models.DateTimeField("时间")
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "理赔进度"
        ordering = ["claim", "at", "id"]
        indexes = [models.Index(fields=["claim", "at"])]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.get_stage_display()}"


class DocumentRequest(models.Model):
    """Staff ask the resident for more documents on a claim, with the reason; the resident answers
    by uploading them on the claim's page."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="document_requests",
                              verbose_name="理赔")
    reason = models.CharField("需补充的材料及原因", max_length=300)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name="发起人")
    requested_at = models.DateTimeField("发起时间", auto_now_add=True)
    answered_at = models.DateTimeField("补充时间", null=True, blank=True)
    answer_note = models.CharField("居民说明", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "补充材料要求"
        ordering = ["-requested_at"]
        constraints = [models.UniqueConstraint(fields=["claim"], condition=Q(answered_at__isnull=True),
                                               name="one_open_document_request_per_claim")]

    def __str__(self) -> str:
        return self.reason


class ClaimDocument(models.Model):
    request = models.ForeignKey(DocumentRequest, on_delete=models.PROTECT, related_name="documents",
                                verbose_name="补充材料要求")
    file = models.FileField("文件", storage=private_storage, upload_to="claim-documents/%Y/%m/")
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("类型", max_length=50)
    size = models.PositiveIntegerField("大小（字节）")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "补充材料"

    def __str__(self) -> str:
        return self.original_name


class Payee(models.Model):
    """The verified account an insured person's claims are paid to: his own bank card or the
    financial account of his 社保卡, or for a minor a guardian's. Verified by the four-factor bank
    card check (name, ID number, card number, the bank's reserved mobile) before it is kept; the
    card number is encrypted (``card_cipher``) and shown masked. A new one replaces the last
    (``replaced_at``): at most one current payee per person (a database constraint)."""

    BANK_CARD, SOCIAL_SECURITY = "bank_card", "social_security"
    KIND_CHOICES = [(BANK_CARD, "银行卡"), (SOCIAL_SECURITY, "社保卡金融账户")]
    SELF, GUARDIAN = "self", "guardian"
    HOLDER_CHOICES = [(SELF, "被保险人本人"), (GUARDIAN, "监护人")]

    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="payees",
                               verbose_name="被保险人")
    kind = models.CharField("账户类型", max_length=16, choices=KIND_CHOICES)
    holder = models.CharField("持卡人", max_length=10, choices=HOLDER_CHOICES)
    holder_name = models.CharField("持卡人姓名", max_length=50)
    holder_id_masked = models.CharField("持卡人身份证号", max_length=18)
    holder_id_hash = models.CharField(max_length=64, editable=False)
    card_cipher = models.TextField("卡号（密文）", editable=False)
    card_hash = models.CharField(max_length=64, db_index=True, editable=False)
    card_masked = models.CharField("卡号", max_length=30)
    phone_masked = models.CharField("预留手机号", max_length=11)
    added_by = models.ForeignKey("enrollment.Resident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name="登记账户")
    request_id = models.CharField("核验请求号", max_length=64, blank=True)
    verified_at = models.DateTimeField("核验时间")
    replaced_at = models.DateTimeField("被替换时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "收款账户"
        ordering = ["-verified_at"]
        constraints = [models.UniqueConstraint(fields=["person"], condition=Q(replaced_at__isnull=True),
                                               name="payee_one_current_per_person")]

    def __str__(self) -> str:
        return f"{self.holder_name} {self.card_masked}"

    @property
    def card_number(self) -> str:
        from portal import crypto

        return crypto.decrypt(self.card_cipher)


class PayeeCheck(models.Model):
    """One four-factor verification asked for a payee (or refused before asking), kept masked."""

    LIMITED = "limited"
    resident = models.ForeignKey("enrollment.Resident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name="账户")
    person = models.ForeignKey("enrollment.Person", on_delete=models.PROTECT, related_name="+",
                               verbose_name="被保险人")
    card_masked = models.CharField("卡号", max_length=30)
    outcome = models.CharField("结果", max_length=12)
    result = models.CharField("服务返回码", max_length=60, blank=True)
    description = models.CharField("说明", max_length=100, blank=True)
    request_id = models.CharField("服务请求号", max_length=64, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "收款账户核验记录"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.card_masked} {self.outcome}"


class ClaimSubmission(models.Model):
    """Out-of-region care outside the feed: the resident sends the settlement sheets, staff key in
    the amounts, and the same engine computes the claim (as a settlement of the ``resident``
    source)."""

    SUBMITTED, KEYED, REFUSED = "submitted", "keyed", "refused"
    STATUS_CHOICES = [(SUBMITTED, "已提交，待录入"), (KEYED, "已录入，进入理赔计算"), (REFUSED, "退回")]

    number = models.CharField("申请号", max_length=32, unique=True)
    resident = models.ForeignKey("enrollment.Resident", on_delete=models.PROTECT, related_name="claim_submissions",
                                 verbose_name="申请人")
    policy = models.ForeignKey("enrollment.Policy", on_delete=models.PROTECT, related_name="claim_submissions",
                               verbose_name="保单")
    hospital_name = models.CharField("就诊医院", max_length=200)
    admission_date = models.DateField("入院（就诊）日期")
    discharge_date = models.DateField("出院日期", null=True, blank=True)
    description = models.CharField("情况说明", max_length=500, blank=True)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=SUBMITTED)
    settlement = models.OneToOneField(Settlement, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="submission", verbose_name="录入的结算单")
    refusal_reason = models.CharField("退回原因", max_length=200, blank=True)
    created_at = models.DateTimeField("提交时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "异地就医理赔申请"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


class SubmissionDocument(models.Model):
    submission = models.ForeignKey(ClaimSubmission, on_delete=models.CASCADE, related_name="documents",
                                   verbose_name="申请")
    file = models.FileField("文件", storage=private_storage, upload_to="claim-documents/%Y/%m/")
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("类型", max_length=50)
    size = models.PositiveIntegerField("大小（字节）")

    class Meta:
        verbose_name = verbose_name_plural = "理赔材料"

    def __str__(self) -> str:
        return self.original_name


# --- Settling at the hospital window, clearing with hospitals, reconciling with the platform --------


class WindowSettlement(models.Model):
    """A settlement made at the hospital window (``claims.services.window``): the payout fixed
    then, the patient's remaining part and the answer given, returned again for the same record.
    The unique constraint makes a settle happen once, whatever arrives at the same moment."""

    settlement = models.OneToOneField(Settlement, on_delete=models.PROTECT, related_name="window_settlement",
                                      verbose_name="结算单")
    source = models.ForeignKey(SettlementSource, on_delete=models.PROTECT, related_name="+", verbose_name="来源")
    number = models.CharField("结算单号", max_length=64)
    policy = models.ForeignKey("enrollment.Policy", on_delete=models.PROTECT, related_name="window_settlements",
                               verbose_name="保单")
    hospital_code = models.CharField("医院编码", max_length=64)
    hospital_name = models.CharField("医院", max_length=200)
    day = models.DateField("结算日")
    own_part = models.DecimalField("个人负担（本保险赔付前）", **MONEY)
    payout = models.DecimalField("窗口赔付（固定）", **MONEY)
    patient_pays = models.DecimalField("个人仍需支付", **MONEY)
    content_hash = models.CharField("内容摘要", max_length=64)
    answer = models.JSONField("结算应答")
    settled_at = models.DateTimeField("窗口结算时间", auto_now_add=True)
    reversed_at = models.DateTimeField("撤销时间", null=True, blank=True)
    reversal_day = models.DateField("撤销日", null=True, blank=True)
    reversal_answer = models.JSONField("撤销应答", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "窗口结算"
        ordering = ["-settled_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "number"], name="window_settle_once"),
        ]
        indexes = [models.Index(fields=["source", "hospital_code", "day"], name="window_by_hospital_day"),
                   models.Index(fields=["source", "hospital_code", "reversal_day"], name="window_reversal_by_day")]

    def __str__(self) -> str:
        return self.number


class ClearingBatch(models.Model):
    """Clearing statements the insurer pays the hospitals together."""

    OPEN, PAID = "open", "paid"
    STATUS_CHOICES = [(OPEN, "待支付"), (PAID, "已支付")]

    number = models.CharField("批次号", max_length=32, unique=True)
    source = models.ForeignKey(SettlementSource, on_delete=models.PROTECT, related_name="+", verbose_name="结算平台")
    total = models.DecimalField("合计金额", **MONEY)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name="创建人")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    paid_at = models.DateTimeField("支付时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "医院清算支付批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


class ClearingStatement(models.Model):
    """What the insurer owes one hospital for one day of window settlements: the payouts fixed at
    the window, less reversals, plus or minus the adjustments the recompute wrote that day."""

    OPEN, PAID = "open", "paid"
    STATUS_CHOICES = [(OPEN, "待支付"), (PAID, "已支付")]

    source = models.ForeignKey(SettlementSource, on_delete=models.PROTECT, related_name="+", verbose_name="结算平台")
    hospital_code = models.CharField("医院编码", max_length=64)
    hospital_name = models.CharField("医院", max_length=200)
    day = models.DateField("清算日")
    settlements = models.PositiveIntegerField("窗口结算笔数", default=0)
    payouts = models.DecimalField("窗口赔付", default=Decimal("0.00"), **MONEY)
    reversals_count = models.PositiveIntegerField("撤销笔数", default=0)
    reversals = models.DecimalField("撤销冲回", default=Decimal("0.00"), **MONEY)
    adjustments = models.DecimalField("调整", default=Decimal("0.00"), **MONEY)
    total = models.DecimalField("应付医院", default=Decimal("0.00"), **MONEY)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=OPEN)
    batch = models.ForeignKey(ClearingBatch, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="statements", verbose_name="支付批次")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    paid_at = models.DateTimeField("支付时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "医院清算单"
        ordering = ["-day", "hospital_code"]
        constraints = [
            models.UniqueConstraint(fields=["source", "hospital_code", "day"], name="clearing_once_per_hospital_day"),
        ]

    def __str__(self) -> str:
        return f"{self.hospital_name} {self.day:%Y-%m-%d}"


class ClearingItem(models.Model):
    """One claim's money on a statement, by kind."""

    PAYOUT, REVERSAL, ADJUSTMENT = "payout", "reversal", "adjustment"
    KIND_CHOICES = [(PAYOUT, "窗口赔付"), (REVERSAL, "撤销冲回"), (ADJUSTMENT, "调整")]

    statement = models.ForeignKey(ClearingStatement, on_delete=models.CASCADE, related_name="items",
                                  verbose_name="清算单")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="clearing_items", verbose_name="理赔")
    settlement_id = models.CharField("结算单号", max_length=64)
    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES)
    amount = models.DecimalField("金额", **MONEY)

    class Meta:
        verbose_name = verbose_name_plural = "清算明细"
        ordering = ["statement", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "claim", "kind"], name="clearing_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.settlement_id} {self.amount}"


class Reconciliation(models.Model):
    """The platform's daily totals and detail for one hospital (对总账 / 对明细账) against the
    window settlements kept here; the differences are listed for staff."""

    source = models.ForeignKey(SettlementSource, on_delete=models.PROTECT, related_name="+", verbose_name="结算平台")
    hospital_code = models.CharField("医院编码", max_length=64)
    day = models.DateField("对账日")
    platform_count = models.IntegerField("平台笔数")
    platform_amount = models.DecimalField("平台金额", **MONEY)
    our_count = models.IntegerField("本系统笔数")
    our_amount = models.DecimalField("本系统金额", **MONEY)
    totals_match = models.BooleanField("总账相符")
    detail_checked = models.BooleanField("已对明细", default=False)
    differences = models.JSONField("差异", default=list, blank=True)
    received_at = models.DateTimeField("接收时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "窗口结算对账"
        ordering = ["-day", "hospital_code"]
        constraints = [
            models.UniqueConstraint(fields=["source", "hospital_code", "day"], name="reconciliation_per_hospital_day"),
        ]

    def __str__(self) -> str:
        return f"{self.hospital_code} {self.day:%Y-%m-%d}"

    @property
    def matched(self) -> bool:
        return self.totals_match and not self.differences

