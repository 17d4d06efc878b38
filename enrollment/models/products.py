"""The product configuration: program → version → plan → responsibilities.

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

from enrollment.models.base import MONEY, RATIO

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
    # Mid-year joiners (威海：当年的退役军人及新生儿可在参加基本医疗保险时同步投保): enrollment/midyear.py
    MIDYEAR_NEWBORN, MIDYEAR_VETERAN, MIDYEAR_NEWLY_INSURED = "newborn", "veteran", "newly_insured"
    MIDYEAR_KINDS = [(MIDYEAR_NEWBORN, "新生儿"), (MIDYEAR_VETERAN, "当年退役军人"), (MIDYEAR_NEWLY_INSURED, "新参加基本医保人员")]
    PREMIUM_FULL, PREMIUM_MONTHLY = "full", "monthly"
    midyear_kinds = ArrayField(
        models.CharField(max_length=16, choices=MIDYEAR_KINDS), default=list, blank=True,
        verbose_name="可年度中途投保的人员",
        help_text="投保期结束后，这些人员在参加基本医保之日起规定天数内仍可投保；不允许则留空。",
    )
    midyear_join_days = models.PositiveSmallIntegerField(
        "中途投保期限（天）", default=30, validators=[MaxValueValidator(366)],
        help_text="自参加基本医保之日（以医保参保登记日期为准）起多少天内可投保。",
    )
    midyear_premium = models.CharField(
        "中途投保保费", max_length=8, default=PREMIUM_MONTHLY,
        choices=[(PREMIUM_FULL, "全额"), (PREMIUM_MONTHLY, "按剩余保障月数折算")],
    )
    cover_start_delay_days = models.PositiveSmallIntegerField(
        "缴费后起保天数", default=1, validators=[MaxValueValidator(30)],
        help_text="保单自缴费之日后第几天零时起保（1 表示次日零时），且不早于产品版本的保障开始日期；0 表示缴费当日起保。",
    )
    service_phone = models.CharField("服务热线", max_length=40, blank=True,
                                     help_text="印在电子保单上的咨询、报案与投诉电话")

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
        from portal.money import yuan

        return f"{self.ages}：{yuan(self.price)}"

    @property
    def ages(self) -> str:
        """The band's ages as people read them: ``0–17岁``, ``60岁及以上``."""
        return f"{self.min_age}岁及以上" if self.max_age is None else f"{self.min_age}–{self.max_age}岁"


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
