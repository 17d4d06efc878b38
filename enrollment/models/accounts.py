"""Resident accounts, the family members they buy for, sign-in codes and consent."""

from __future__ import annotations

import pghistory
from django.db import models
from django.utils import timezone

from enrollment.models.persons import Person
from portal import crypto

# --- Residents and consent ---------------------------------------------------------------------


class ResidentQuerySet(models.QuerySet):
    def by_phone(self, phone: str):
        """Find by mobile through its blind index (the mobile is stored only encrypted)."""
        return self.filter(phone_hash=crypto.blind_index(phone))


@pghistory.track(pghistory.UpdateEvent("identity", condition=pghistory.AnyChange("person")),
                 fields=["person", "bound_at"], model_name="ResidentIdentityEvent")
class Resident(models.Model):
    """A signed-in account (mobile number), bound by real name to a Person once the verification
    service confirmed it. Every change of the bound person is recorded with who and why."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="resident",
                                verbose_name="登录账号")
    # The mobile, encrypted; found by its blind index (unique). ``phone`` reads and sets both.
    phone_cipher = models.TextField("手机号（密文）", null=True, blank=True, editable=False,  # noqa: DJ001 None: closed
                                    help_text="注销的账户不再保留手机号。")
    phone_hash = models.CharField("手机号检索码", max_length=64, unique=True, null=True, blank=True, editable=False)
    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="account", verbose_name="实名"
    )
    bound_at = models.DateTimeField("实名时间", null=True, blank=True)
    created_at = models.DateTimeField("注册时间", auto_now_add=True)
    closed_at = models.DateTimeField("注销时间", null=True, blank=True)

    objects = ResidentQuerySet.as_manager()
    phone = crypto.sealed("phone_cipher", index="phone_hash", doc="手机号（None：已注销）")
    PHONE_FIELDS = ["phone_cipher", "phone_hash"]  # for save(update_fields=...) after setting ``phone``

    class Meta:
        verbose_name = verbose_name_plural = "居民账户"

    def __str__(self) -> str:
        if not self.phone:
            return f"已注销账户#{self.pk}"
        return f"{self.phone[:3]}****{self.phone[-4:]}"


class Relation(models.TextChoices):
    SELF = "self", "本人"
    SPOUSE = "spouse", "配偶"
    PARENT = "parent", "父母"
    CHILD = "child", "子女"
    OTHER = "other", "其他"


CLOSE_RELATIONS = (Relation.SELF, Relation.SPOUSE, Relation.PARENT, Relation.CHILD)  # 近亲属


class FamilyMember(models.Model):
    """Someone a resident may buy for, with the relation the resident declared."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="family", verbose_name="账户")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name="家庭成员")
    relation = models.CharField("关系", max_length=10, choices=Relation.choices)
    added_at = models.DateTimeField("添加时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "家庭成员"
        constraints = [models.UniqueConstraint(fields=["resident", "person"], name="family_member_once")]

    def __str__(self) -> str:
        return f"{self.get_relation_display()}：{self.person}"


class SmsCodeQuerySet(models.QuerySet):
    def by_phone(self, phone: str):
        return self.filter(phone_hash=crypto.blind_index(phone))


class SmsCode(models.Model):
    """A one-time sign-in code: only its hash is stored; 5 minutes, 5 tries. The mobile is kept as
    its blind index (to find the live code) and masked: nothing reads it back."""

    phone_hash = models.CharField("手机号检索码", max_length=64)
    phone_masked = models.CharField("手机号", max_length=11)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = SmsCodeQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "短信验证码"
        indexes = [models.Index(fields=["phone_hash", "-created_at"], name="smscode_phone_hash_created")]

    def __str__(self) -> str:
        return f"{self.phone_masked} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class ConsentText(models.Model):
    """A versioned text residents agree to; consent records point at the exact version read."""

    TERMS, PRIVACY, AUTO_RENEWAL, PERSONAL_ACCOUNT = "terms", "privacy", "auto_renewal", "personal_account"
    KIND_CHOICES = [
        (TERMS, "保险条款与投保须知"),
        (PRIVACY, "个人信息处理授权"),
        (AUTO_RENEWAL, "自动续保代扣授权"),
        (PERSONAL_ACCOUNT, "医保个人账户支付授权"),
    ]

    kind = models.CharField("类型", max_length=20, choices=KIND_CHOICES)
    version = models.CharField("版本", max_length=40)
    title = models.CharField("标题", max_length=100)
    body = models.TextField("正文")
    effective_at = models.DateTimeField("生效时间")

    class Meta:
        verbose_name = verbose_name_plural = "授权与条款文本"
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="consent_text_version")]
        get_latest_by = "effective_at"

    def __str__(self) -> str:
        return f"{self.title}（{self.version}）"


class Consent(models.Model):
    """One person's agreement to one text version, given by the person or by a guardian."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consents", verbose_name="本人")
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="+", verbose_name="文本")
    given_by = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="操作账户"
    )
    as_guardian = models.BooleanField("监护人代为同意", default=False)
    policy = models.ForeignKey(
        "Policy", on_delete=models.CASCADE, null=True, blank=True, related_name="consents", verbose_name="保单"
    )
    given_at = models.DateTimeField("同意时间", auto_now_add=True)
    ip_address = models.GenericIPAddressField("IP地址", null=True, blank=True)
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_by = models.ForeignKey(Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name="撤回账户")

    class Meta:
        verbose_name = verbose_name_plural = "授权记录"

    def __str__(self) -> str:
        return f"{self.person} 同意 {self.text}"
