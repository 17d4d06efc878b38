"""Proving identity: every verification attempt (masked) and appeals to customer service."""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q

from enrollment.models.accounts import Resident
from portal import crypto
from portal.storage import private_storage


class VerificationAttempt(models.Model):
    """One call (or one refusal before a call) to the identity-verification service, kept masked:
    who asked, for what, about which ID (masked and blind-indexed), and what came of it."""

    BIND, TAKEOVER, APPEAL, RECHECK = "bind", "takeover", "appeal", "recheck"
    PURPOSE_CHOICES = [(BIND, "实名认证"), (TAKEOVER, "找回实名"), (APPEAL, "实名申诉"), (RECHECK, "存量复核")]
    ID_CARD, PHONE = "id_card", "phone"
    CHECK_CHOICES = [(ID_CARD, "姓名+身份证号（二要素）"), (PHONE, "姓名+身份证号+手机号（三要素）")]
    LIMITED = "limited"
    OUTCOME_CHOICES = [("match", "一致"), ("mismatch", "不一致"), ("no_record", "无记录"), ("invalid", "格式不合法"),
                       ("unsupported", "号段不支持"), ("unavailable", "服务不可用"), (LIMITED, "超出次数限制")]

    resident = models.ForeignKey(Resident, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="verification_attempts", verbose_name="账户")
    purpose = models.CharField("用途", max_length=10, choices=PURPOSE_CHOICES)
    method = models.CharField("核验方式", max_length=10, choices=CHECK_CHOICES)
    name_masked = models.CharField("姓名", max_length=30)
    id_masked = models.CharField("身份证号", max_length=18)
    id_hash = models.CharField("身份证号检索码", max_length=64, db_index=True)
    phone_masked = models.CharField("手机号", max_length=11, blank=True)
    ip_address = models.GenericIPAddressField("IP地址", null=True, blank=True)
    outcome = models.CharField("结果", max_length=12, choices=OUTCOME_CHOICES)
    result = models.CharField("服务返回码", max_length=60, blank=True)
    request_id = models.CharField("服务请求号", max_length=64, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "实名核验记录"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.id_masked} {self.get_outcome_display()}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(condition=pghistory.AnyChange("status")),
                 exclude=["name", "id_cipher", "photo"])
class IdentityAppeal(models.Model):
    """A resident who cannot pass the three-factor check (his mobile is in another name) asks
    customer service to bind an ID number already bound elsewhere, with a photo of the ID card.
    The name and ID number were first checked (two-factor); staff compare the photo and decide."""

    PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
    STATUS_CHOICES = [(PENDING, "待审核"), (APPROVED, "已通过"), (REJECTED, "未通过")]

    number = models.CharField("申诉编号", max_length=32, unique=True)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="identity_appeals",
                                 verbose_name="申诉账户")
    name = models.CharField("姓名", max_length=50)
    id_cipher = models.TextField("身份证号（密文）", editable=False)
    id_hash = models.CharField("身份证号检索码", max_length=64, db_index=True, editable=False)
    id_masked = models.CharField("身份证号", max_length=18, editable=False)
    photo = models.FileField("身份证照片（加密存储）", upload_to="appeals/%Y/%m/", storage=private_storage)
    photo_type = models.CharField("照片类型", max_length=20)
    explanation = models.CharField("情况说明", max_length=500, blank=True)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=PENDING)
    decided_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name="审核人")
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_note = models.CharField("审核意见", max_length=300, blank=True)
    created_at = models.DateTimeField("提交时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "实名申诉"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["resident"], condition=Q(status="pending"),
                                               name="one_pending_appeal_per_account")]
        permissions = [("decide_identityappeal", "审核实名申诉")]

    def __str__(self) -> str:
        return f"{self.number} {self.id_masked}"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_cipher)
