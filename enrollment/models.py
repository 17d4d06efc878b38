"""Insured persons and the product configuration (program → version → plan → responsibilities).

Configuration invariants that span rows (co-insurer shares add up to 100%, bands ascending, the
premium cap) are checked by ``enrollment.validation`` from the admin and the services; a published
``ProductVersion`` and everything under it is frozen by PostgreSQL triggers, so a policy's terms
can never change under it (a change is a new version: ``services.version_copy``).
"""

from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from enrollment import idnumber
from portal import crypto
from portal.storage import private_storage

MONEY = {"max_digits": 12, "decimal_places": 2}
RATIO = {"max_digits": 5, "decimal_places": 4, "validators": [MinValueValidator(0), MaxValueValidator(1)]}


# --- Persons ---------------------------------------------------------------------------------


class PersonQuerySet(models.QuerySet):
    def by_id_number(self, value: str):
        """Find by ID number through the blind index (``value`` is normalised first)."""
        return self.filter(id_hash=crypto.blind_index(idnumber.normalize(value)))


class Person(models.Model):
    """Someone who can be insured; one row per real person, whichever channel brought them.

    The ID number is stored encrypted (``id_cipher``) and found by ``id_hash``; only the masked
    form (first 6 + last 4) is kept in clear, for lists and search.
    """

    SEX_CHOICES = [("M", "男"), ("F", "女")]

    name = models.CharField("姓名", max_length=50)
    id_cipher = models.TextField("身份证号（密文）", editable=False)
    id_hash = models.CharField("身份证号检索码", max_length=64, unique=True, editable=False)
    id_masked = models.CharField("身份证号", max_length=18, db_index=True, editable=False)
    birth_date = models.DateField("出生日期")
    sex = models.CharField("性别", max_length=1, choices=SEX_CHOICES)
    region_code = models.CharField("户籍地区码", max_length=6, db_index=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "参保人"

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_cipher)

    def set_id_number(self, value: str) -> idnumber.IdNumber:
        parsed = idnumber.parse(value)
        self.id_cipher = crypto.encrypt(parsed.number)
        self.id_hash = crypto.blind_index(parsed.number)
        self.id_masked = idnumber.mask(parsed.number)
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex
        self.region_code = parsed.region_code
        return parsed


# --- Product configuration -------------------------------------------------------------------


@pghistory.track()
class Program(models.Model):
    """A city's scheme (Wuwei 天马·医惠保, Weihai 威你保)."""

    code = models.SlugField("代码", unique=True)
    name = models.CharField("项目名称", max_length=50)
    city = models.CharField("城市", max_length=20)
    eligible_regions = ArrayField(
        models.CharField(max_length=6),
        verbose_name="参保地区码前缀",
        help_text="基本医保参保地的行政区划码前缀，逗号分隔。例如武威市 6206，山东省全省 37。",
    )
    premium_cap_ratio = models.DecimalField(
        "保费上限（占居民医保个人缴费比例）",
        null=True,
        blank=True,
        help_text="例如 0.5 表示保费不高于当年城乡居民医保个人缴费标准的50%；不设此规则则留空。",
        **RATIO,
    )
    payout_ratio_floor = models.DecimalField("给付率下限", null=True, blank=True, **RATIO)
    cost_ratio_ceiling = models.DecimalField("综合成本率上限", null=True, blank=True, **RATIO)
    loss_ratio_floor = models.DecimalField("赔付率下限", null=True, blank=True, **RATIO)
    cycle_years = models.PositiveSmallIntegerField("考核周期（年）", default=1)
    enrollment_target_rate = models.DecimalField("参保率目标", null=True, blank=True,
                                                 help_text="例如 0.30 表示参保人数达到基本医保参保人数的30%", **RATIO)
    enrollment_target_year = models.PositiveSmallIntegerField("参保率目标年度", null=True, blank=True)
    operating_cost_rate = models.DecimalField("经营费用率（占保费）", default=Decimal("0.0800"),
                                              help_text="用于综合成本率与结余测算（示例值，待承保公司提供）", **RATIO)
    personal_account_payment = models.BooleanField(
        "支持医保个人账户支付", default=False, help_text="职工医保个人账户可为本人及配偶、父母、子女支付保费（威海）"
    )
    auto_renewal = models.BooleanField("支持授权自动续保", default=False, help_text="居民授权后，下一年度自动续保代扣（威海）")

    class Meta:
        verbose_name = verbose_name_plural = "项目"

    def __str__(self) -> str:
        return f"{self.city}·{self.name}"

    def region_eligible(self, region_code: str) -> bool:
        return any(region_code.startswith(prefix) for prefix in self.eligible_regions)


@pghistory.track()
class CoInsurer(models.Model):
    """A member of the co-insurance pool (共保体); the program's shares add up to exactly 100%."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="coinsurers", verbose_name="项目")
    name = models.CharField("保险公司", max_length=100)
    share = models.DecimalField("份额", help_text="例如 0.4 表示40%", **RATIO)
    is_lead = models.BooleanField("主承保", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "共保公司"
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="coinsurer_unique_name"),
            models.UniqueConstraint(fields=["program"], condition=Q(is_lead=True), name="coinsurer_one_lead"),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=1), name="coinsurer_share_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.share:.2%}）"


def _frozen_when_published(model_label: str, version_id_sql: str) -> pgtrigger.Trigger:
    """A trigger refusing any change to a row whose product version is published.

    ``version_id_sql`` is an SQL expression over ``ROW`` (OLD on update/delete) giving the
    version's id.
    """
    check = version_id_sql.replace("ROW", "OLD")
    return pgtrigger.Trigger(
        name=f"{model_label}_frozen",
        when=pgtrigger.Before,
        operation=pgtrigger.Update | pgtrigger.Delete,
        func=f"""
            IF EXISTS (SELECT 1 FROM enrollment_productversion v
                       WHERE v.id = ({check}) AND v.status = 'published') THEN
                RAISE EXCEPTION 'product version is published and cannot be changed'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        """,
    )


@pghistory.track()
class ProductVersion(models.Model):
    """One policy year of a program (``wuwei-2025``). Immutable once published."""

    DRAFT, PUBLISHED = "draft", "published"
    STATUS_CHOICES = [(DRAFT, "草稿"), (PUBLISHED, "已发布")]

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="versions", verbose_name="项目")
    slug = models.SlugField("版本代码", unique=True, help_text="例如 wuwei-2025")
    year = models.PositiveSmallIntegerField("年度")
    name = models.CharField("产品名称", max_length=100)
    sales_start = models.DateField("销售开始")
    sales_end = models.DateField("销售截止")
    coverage_start = models.DateField("保障开始")
    coverage_end = models.DateField("保障结束")
    resident_contribution = models.DecimalField(
        "当年居民医保个人缴费标准（元）",
        null=True,
        blank=True,
        help_text="项目设有保费上限规则时必填，用于校验保费。",
        **MONEY,
    )
    terms_version = models.CharField("条款版本", max_length=40, default="v1")
    status = FSMField("状态", default=DRAFT, choices=STATUS_CHOICES, protected=False)
    published_at = models.DateTimeField("发布时间", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "产品版本"
        ordering = ["program", "-year"]
        constraints = [
            models.CheckConstraint(condition=Q(sales_end__gte=models.F("sales_start")), name="version_sales_window"),
            models.CheckConstraint(
                condition=Q(coverage_end__gte=models.F("coverage_start")), name="version_coverage_period"
            ),
            # One published version per program and year, so "one policy per person per product
            # year" is one policy per person and published version.
            models.UniqueConstraint(
                fields=["program", "year"], condition=Q(status="published"), name="version_one_published_per_year"
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="productversion_frozen",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="published"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.slug}）"

    @property
    def is_published(self) -> bool:
        return self.status == self.PUBLISHED

    @property
    def has_sample_plans(self) -> bool:
        return any(plan.is_sample for plan in self.plans.all())

    def sales_open_on(self, day) -> bool:
        return self.sales_start <= day <= self.sales_end

    @transition(field=status, source=DRAFT, target=PUBLISHED)
    def publish(self) -> None:
        """Freeze the version; ``services.version_publish`` validates it first."""


@pghistory.track()
class Plan(models.Model):
    """A priced option inside a version, with its benefit configuration."""

    FLAT, AGE_BANDS = "flat", "age_bands"
    PRICING_CHOICES = [(FLAT, "统一保费"), (AGE_BANDS, "按年龄段定价")]

    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="plans", verbose_name="产品版本")
    code = models.SlugField("方案代码", help_text="例如 basic、upgrade")
    name = models.CharField("方案名称", max_length=50)
    position = models.PositiveSmallIntegerField("排序", default=0)
    is_sample = models.BooleanField(
        "示例方案", default=False, help_text="参数未经主管部门公布的方案，页面上标注“示例方案（参数待主管部门确认）”。"
    )
    pricing = models.CharField("定价方式", max_length=10, choices=PRICING_CHOICES, default=FLAT)
    price = models.DecimalField("保费（元/人·年）", null=True, blank=True, help_text="统一保费时填写", **MONEY)
    pre_existing_ratio = models.DecimalField("既往症赔付比例", **RATIO)
    uplift_per_year = models.DecimalField(
        "连续参保每年提高比例", null=True, blank=True, help_text="例如 0.02 表示每连续参保一年赔付比例提高2个百分点", **RATIO
    )
    uplift_cap = models.DecimalField("连续参保提高上限", null=True, blank=True, **RATIO)
    assistance_ratio_bonus = models.DecimalField(
        "医疗救助对象赔付比例提高", null=True, blank=True, help_text="医疗救助对象在各档比例上增加的比例", **RATIO
    )

    class Meta:
        verbose_name = verbose_name_plural = "保障方案"
        ordering = ["version", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="plan_unique_code")]
        triggers = [_frozen_when_published("plan", "ROW.version_id")]

    def __str__(self) -> str:
        return f"{self.version.slug}/{self.code} {self.name}"

    def price_for_age(self, age: int) -> Decimal | None:
        """The premium for a person of ``age`` on the coverage start date; None if no band fits."""
        if self.pricing == self.FLAT:
            return self.price
        for band in self.price_bands.all():
            if band.min_age <= age and (band.max_age is None or age <= band.max_age):
                return band.price
        return None


_PLAN_CHILD_VERSION = "(SELECT p.version_id FROM enrollment_plan p WHERE p.id = ROW.plan_id)"


@pghistory.track()
class PriceBand(models.Model):
    """An age band's premium; age is taken on the coverage start date from the ID's birth date."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="price_bands", verbose_name="方案")
    min_age = models.PositiveSmallIntegerField("起始年龄（含）")
    max_age = models.PositiveSmallIntegerField("截止年龄（含）", null=True, blank=True, help_text="留空表示不设上限")
    price = models.DecimalField("保费（元/人·年）", **MONEY)

    class Meta:
        verbose_name = verbose_name_plural = "年龄段保费"
        ordering = ["plan", "min_age"]
        triggers = [_frozen_when_published("priceband", _PLAN_CHILD_VERSION)]

    def __str__(self) -> str:
        upper = "以上" if self.max_age is None else f"–{self.max_age}岁"
        return f"{self.min_age}{upper}：{self.price}元"


@pghistory.track()
class DeductibleGroup(models.Model):
    """A yearly deductible shared by the responsibilities that name it."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="deductible_groups", verbose_name="方案")
    code = models.SlugField("代码")
    name = models.CharField("名称", max_length=50)
    amount = models.DecimalField("年度免赔额（元）", **MONEY)
    assistance_amount = models.DecimalField(
        "医疗救助对象免赔额（元）", null=True, blank=True, help_text="医疗救助对象适用的较低免赔额；留空则同上", **MONEY
    )

    class Meta:
        verbose_name = verbose_name_plural = "免赔额"
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="deductible_unique_code")]
        triggers = [_frozen_when_published("deductiblegroup", _PLAN_CHILD_VERSION)]

    def __str__(self) -> str:
        return f"{self.name}（{self.amount}元）"


@pghistory.track()
class RatioBand(models.Model):
    """A band of the plan's payout schedule, read on the year's shared band accumulator."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="ratio_bands", verbose_name="方案")
    upper = models.DecimalField(
        "累计金额上限（含，元）", null=True, blank=True, help_text="扣除免赔额后的累计个人负担；最后一档留空", **MONEY
    )
    ratio = models.DecimalField("赔付比例", help_text="例如 0.3 表示30%", **RATIO)

    class Meta:
        verbose_name = verbose_name_plural = "分段赔付比例"
        ordering = ["plan", models.F("upper").asc(nulls_last=True)]
        triggers = [_frozen_when_published("ratioband", _PLAN_CHILD_VERSION)]

    def __str__(self) -> str:
        return f"≤{self.upper}：{self.ratio:.0%}" if self.upper is not None else f"以上：{self.ratio:.0%}"


class CoveredField(models.TextChoices):
    IN_CATALOG = "in_catalog_self_pay", "医保目录内乙类自付、丙类费用（amounts.in_catalog_self_pay）"
    OUT_OF_CATALOG = "out_of_catalog", "医保目录外费用（amounts.out_of_catalog）"
    HEAVY_ION = "heavy_ion", "重离子治疗费用（amounts.heavy_ion）"
    DRUGS = "drugs", "特定药品清单内药品费用（drugs）"


class VisitType(models.TextChoices):
    INPATIENT = "inpatient", "住院"
    OUTPATIENT = "outpatient", "门诊"


@pghistory.track()
class Responsibility(models.Model):
    """One benefit line (保险责任) of a plan."""

    BANDS, FLAT = "bands", "flat"
    SCHEDULE_CHOICES = [(BANDS, "按方案分段比例（共用累计）"), (FLAT, "固定比例")]

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="responsibilities", verbose_name="方案")
    position = models.PositiveSmallIntegerField("处理顺序", default=0)
    code = models.SlugField("代码")
    name = models.CharField("责任名称", max_length=100)
    covered_field = models.CharField("保障的结算字段", max_length=30, choices=CoveredField.choices)
    annual_limit = models.DecimalField("年度赔付限额（元）", **MONEY)
    deductible_group = models.SlugField(
        "免赔额组", blank=True, help_text="填写本方案免赔额的代码（如 hospital）；留空表示无免赔额"
    )
    schedule = models.CharField("赔付比例方式", max_length=10, choices=SCHEDULE_CHOICES, default=BANDS)
    flat_ratio = models.DecimalField("固定赔付比例", null=True, blank=True, **RATIO)
    visit_types = ArrayField(
        models.CharField(max_length=12, choices=VisitType.choices),
        verbose_name="就诊类型",
        default=list,
        blank=True,
        help_text="留空表示住院、门诊均可",
    )
    min_hospital_level = models.PositiveSmallIntegerField(
        "最低医院等级", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    require_designated = models.BooleanField("须为医保定点机构", default=False)
    require_in_region = models.BooleanField("须在市域内", default=False)
    diagnosis_ranges = models.CharField(
        "诊断编码范围",
        max_length=200,
        blank=True,
        help_text="ICD-10 类目范围，逗号分隔，例如 C00-C97；留空表示不限",
    )
    drug_list = models.TextField("特定药品清单", blank=True, help_text="药品编码，每行一个（仅“特定药品”责任）")

    class Meta:
        verbose_name = verbose_name_plural = "保险责任"
        ordering = ["plan", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="responsibility_unique_code")]
        triggers = [_frozen_when_published("responsibility", _PLAN_CHILD_VERSION)]

    def __str__(self) -> str:
        return self.name



# --- Residents and consent ---------------------------------------------------------------------


class Resident(models.Model):
    """A signed-in account (mobile number), bound by real name to a Person."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="resident")
    phone = models.CharField("手机号", max_length=11, unique=True)
    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="account", verbose_name="实名"
    )
    bound_at = models.DateTimeField("实名时间", null=True, blank=True)
    created_at = models.DateTimeField("注册时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "居民账户"

    def __str__(self) -> str:
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


class SmsCode(models.Model):
    """A one-time sign-in code: only its hash is stored; 5 minutes, 5 tries."""

    phone = models.CharField(max_length=11, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "短信验证码"
        indexes = [models.Index(fields=["phone", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"


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
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "授权记录"

    def __str__(self) -> str:
        return f"{self.person} 同意 {self.text}"


# --- Orders, policies, payments ------------------------------------------------------------


class Channel(models.TextChoices):
    SELF = "self", "个人自购"
    FAMILY = "family", "家庭代购"
    EMPLOYER = "employer", "单位团体"
    COLLECTIVE = "collective", "集体经济组织"
    CAMPAIGN = "campaign", "“四心”捐赠"
    FUND = "fund", "爱心基金"
    RENEWAL = "renewal", "自动续保"


class PaymentMethod(models.TextChoices):
    ONLINE = "online", "在线支付"
    PERSONAL_ACCOUNT = "personal_account", "医保个人账户"
    BANK_TRANSFER = "bank_transfer", "对公转账"
    WITHHOLDING = "withholding", "授权代扣"
    FUND = "fund", "爱心基金"


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

    class Meta:
        verbose_name = verbose_name_plural = "订单"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative")]

    def __str__(self) -> str:
        return self.number

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

    @transition(field=status, source=PENDING, target=ACTIVE)
    def activate(self) -> None:
        pass

    @transition(field=status, source=PENDING, target=EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=[PENDING, ACTIVE], target=CANCELLED)
    def cancel(self) -> None:
        pass


class Payment(models.Model):
    """One attempt with one provider. The provider's transaction id is applied once (invariant 2)."""

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
    pay_url = models.CharField("支付页地址", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    succeeded_at = models.DateTimeField("成功时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付"
        constraints = [
            models.UniqueConstraint(fields=["provider", "transaction_id"], name="payment_transaction_once"),
        ]

    def __str__(self) -> str:
        return self.out_trade_no


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name="支付")
    out_refund_no = models.CharField("退款单号", max_length=40, unique=True)
    amount = models.DecimalField("金额", **MONEY)
    status = models.CharField("状态", max_length=12, default="pending")
    reason = models.CharField("原因", max_length=100)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    completed_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "退款"

    def __str__(self) -> str:
        return self.out_refund_no


class PaymentNotification(models.Model):
    """Every notification the provider sent us, verified or not (forged ones are kept as evidence)."""

    provider = models.CharField(max_length=20)
    received_at = models.DateTimeField(auto_now_add=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    accepted = models.BooleanField(default=False)
    outcome = models.CharField(max_length=40)  # applied / replay / bad_signature / amount_mismatch / ...
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications")

    class Meta:
        verbose_name = verbose_name_plural = "支付通知"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.provider} {self.received_at:%Y-%m-%d %H:%M:%S} {self.outcome}"


class RenewalAuthorization(models.Model):
    """Weihai: consent to renew and be charged automatically when the next version opens."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="renewals", verbose_name="账户")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="renewals", verbose_name="被保险人")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="renewals", verbose_name="项目")
    plan_code = models.SlugField("续保方案")
    agreement_no = models.CharField("代扣协议号", max_length=64, default="")
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


# --- Organizations, campaigns, beneficiary lists, the charity fund --------------------------------


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


class CampaignKind(models.TextChoices):
    JINGXIAO = "jingxiao", "敬孝心"
    XIANAI = "xianai", "献爱心"
    TONGXIN = "tongxin", "筑同心"
    NUANREN = "nuanren", "暖人心"


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


class BeneficiaryList(models.Model):
    """An uploaded list of people to buy for, validated row by row in a Celery task."""

    VALIDATING, VALIDATED, FAILED, ORDERED = "validating", "validated", "failed", "ordered"
    STATUS_CHOICES = [(VALIDATING, "校验中"), (VALIDATED, "待确认"), (FAILED, "校验未完成"), (ORDERED, "已下单")]

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
    status = models.CharField("状态", max_length=12, choices=STATUS_CHOICES, default=VALIDATING)
    total_rows = models.PositiveIntegerField("总行数", default=0)
    processed_rows = models.PositiveIntegerField("已校验", default=0)
    failure = models.CharField("未完成原因", max_length=300, blank=True)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="beneficiary_list", verbose_name="订单")
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)

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

    VALID, INVALID, DROPPED, REFUSED, ISSUED = "valid", "invalid", "dropped", "refused", "issued"
    STATUS_CHOICES = [(VALID, "通过"), (INVALID, "未通过"), (DROPPED, "已剔除"), (REFUSED, "下单时已参保"),
                      (ISSUED, "已出单")]

    list = models.ForeignKey(BeneficiaryList, on_delete=models.CASCADE, related_name="rows", verbose_name="名单")
    row_number = models.PositiveIntegerField("行号")
    name = models.CharField("姓名", max_length=60)
    id_cipher = models.TextField("身份证号（密文）", blank=True)
    id_hash = models.CharField("身份证号检索码", max_length=64, blank=True, db_index=True)
    id_masked = models.CharField("身份证号", max_length=40)
    phone = models.CharField("手机号", max_length=20, blank=True)
    status = models.CharField("结果", max_length=10, choices=STATUS_CHOICES)
    code = models.CharField("原因代码", max_length=40, blank=True)
    message = models.CharField("说明", max_length=300, blank=True)
    price = models.DecimalField("保费", null=True, blank=True, **MONEY)
    medical_assistance = models.BooleanField("医疗救助对象", default=False)
    policy = models.OneToOneField(Policy, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name="保单")

    class Meta:
        verbose_name = verbose_name_plural = "名单行"
        ordering = ["list", "row_number"]
        constraints = [models.UniqueConstraint(fields=["list", "row_number"], name="list_row_once")]

    def __str__(self) -> str:
        return f"{self.list.number} 第{self.row_number}行"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_cipher) if self.id_cipher else ""


class CharityFund(models.Model):
    """A program's charity fund (Weihai 爱心基金). ``balance`` is the sum of its entries; it is
    changed only under a row lock and a database check keeps it from going below zero."""

    program = models.OneToOneField(Program, on_delete=models.PROTECT, related_name="fund", verbose_name="项目")
    name = models.CharField("基金名称", max_length=100)
    balance = models.DecimalField("余额", default=Decimal("0.00"), **MONEY)

    class Meta:
        verbose_name = verbose_name_plural = "爱心基金"
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="fund_balance_not_negative")]

    def __str__(self) -> str:
        return self.name


class FundEntry(models.Model):
    """Append-only: a donation (positive) or an allocation to a resident's policy (negative)."""

    DONATION, ALLOCATION = "donation", "allocation"
    KIND_CHOICES = [(DONATION, "捐赠"), (ALLOCATION, "资助参保")]

    fund = models.ForeignKey(CharityFund, on_delete=models.PROTECT, related_name="entries", verbose_name="基金")
    kind = models.CharField("类型", max_length=12, choices=KIND_CHOICES)
    amount = models.DecimalField("金额", help_text="捐赠为正，资助为负", **MONEY)
    balance_after = models.DecimalField("余额", **MONEY)
    donor_name = models.CharField("捐赠方", max_length=100, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="donations", verbose_name="捐赠单位")
    reference = models.CharField("到账凭证号", max_length=64, blank=True)
    policy = models.OneToOneField(Policy, on_delete=models.PROTECT, null=True, blank=True, related_name="fund_entry",
                                  verbose_name="资助保单")
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name="经办人")
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "爱心基金流水"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="donation", amount__gt=0) | Q(kind="allocation", amount__lt=0)),
                name="fund_entry_sign",
            ),
            models.UniqueConstraint(fields=["fund", "reference"], condition=~Q(reference=""),
                                    name="fund_donation_reference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
