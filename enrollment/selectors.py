"""Reads of the enrollment data, and the one conversion of a plan into the engine's input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from claims.rules.model import (
    AssistanceTilt,
    Band,
    BenefitConfig,
    Conditions,
    ContinuityUplift,
)
from claims.rules.model import Responsibility as RuleResponsibility
from enrollment.models import Plan, ProductVersion, Responsibility
from portal.money import yuan

SALE_STATES = {"upcoming": "即将开售", "open": "在售", "closed": "已停售"}


def sale_state(version: ProductVersion, today=None) -> str:
    """``upcoming``, ``open`` or ``closed`` (已停售: past its sales window) on ``today``."""
    from django.utils import timezone

    today = today or timezone.localdate()
    if today < version.sales_start:
        return "upcoming"
    return "open" if today <= version.sales_end else "closed"


def published_versions() -> QuerySet[ProductVersion]:
    return (
        ProductVersion.objects.filter(status=ProductVersion.PUBLISHED)
        .select_related("program")
        .prefetch_related("plans")
        .order_by("program__code", "-year")
    )


def plan_for_sale(*, product: str, plan: str) -> Plan:
    """The plan ``plan`` of version ``product`` with what buying reads: version, program, price bands."""
    return Plan.objects.select_related("version__program").prefetch_related("price_bands").get(
        version__slug=product, code=plan)


def plan_with_config(*, product: str, plan: str) -> Plan:
    """The plan ``plan`` of version ``product`` with everything the engine reads, prefetched.

    Raises ``Plan.DoesNotExist``.
    """
    return (
        Plan.objects.select_related("version__program")
        .prefetch_related(
            "deductible_groups",
            "ratio_bands",
            "price_bands",
            Prefetch("responsibilities", queryset=Responsibility.objects.order_by("position", "id")),
        )
        .get(version__slug=product, code=plan)
    )


def _ranges(text: str) -> tuple[tuple[str, str], ...] | None:
    """``"C00-C97, D00"`` → ``(("C00", "C97"), ("D00", "D00"))``; blank → None (any)."""
    ranges = []
    for part in text.replace("，", ",").split(","):
        part = part.strip().upper()
        if not part:
            continue
        low, _, high = part.partition("-")
        ranges.append((low.strip(), (high or low).strip()))
    return tuple(ranges) or None


def benefit_config(plan: Plan) -> BenefitConfig:
    """Convert a plan's database configuration into the engine's ``BenefitConfig``.

    Bands are configured once per plan (one schedule, one shared accumulator) and handed to every
    responsibility whose schedule is ``bands``.
    """
    bands = tuple(Band(upper=b.upper, ratio=b.ratio) for b in plan.ratio_bands.all())
    groups = list(plan.deductible_groups.all())
    responsibilities = []
    for r in plan.responsibilities.all():
        conditions = Conditions(
            visit_types=frozenset(r.visit_types) or None,
            min_hospital_level=r.min_hospital_level,
            designated=True if r.require_designated else None,
            in_region=True if r.require_in_region else None,
            diagnosis_ranges=_ranges(r.diagnosis_ranges),
        )
        responsibilities.append(
            RuleResponsibility(
                code=r.code,
                name=r.name,
                field=r.covered_field,
                limit=r.annual_limit,
                conditions=conditions,
                deductible_group=r.deductible_group or None,
                bands=bands if r.schedule == Responsibility.BANDS else (),
                flat_ratio=r.flat_ratio if r.schedule == Responsibility.FLAT else None,
                drug_list=frozenset(code.strip().upper() for code in r.drug_list.split() if code.strip()),
            )
        )
    uplift = None
    if plan.uplift_per_year is not None:
        uplift = ContinuityUplift(per_year=plan.uplift_per_year, cap=plan.uplift_cap or Decimal("0"))
    tilt = None
    if plan.assistance_ratio_bonus is not None or any(g.assistance_amount is not None for g in groups):
        tilt = AssistanceTilt(
            deductibles={g.code: g.assistance_amount for g in groups if g.assistance_amount is not None},
            ratio_bonus=plan.assistance_ratio_bonus or Decimal("0"),
        )
    return BenefitConfig(
        responsibilities=tuple(responsibilities),
        deductibles={g.code: g.amount for g in groups},
        pre_existing_ratio=plan.pre_existing_ratio,
        continuity_uplift=uplift,
        assistance_tilt=tilt,
    )


def percent(ratio: Decimal) -> str:
    value = (ratio * 100).normalize()
    return f"{value:f}%"


@dataclass(frozen=True)
class LineSummary:
    name: str
    limit: Decimal
    deductible: str
    ratio: str


@dataclass(frozen=True)
class PlanSummary:
    plan: Plan
    lines: list[LineSummary]
    pre_existing: str


def plan_summaries(version: ProductVersion) -> list[PlanSummary]:
    """What a resident reads about each plan: limits, deductibles and ratios in plain words."""
    plans = (
        version.plans.prefetch_related("price_bands", "ratio_bands", "deductible_groups", "responsibilities")
        .order_by("position", "code")
    )
    summaries = []
    for plan in plans:
        groups = {g.code: g for g in plan.deductible_groups.all()}
        band_text = "；".join(
            f"{'累计' + yuan(b.upper) + '（含）以下' if b.upper is not None else '以上'}{percent(b.ratio)}"
            for b in plan.ratio_bands.all()
        )
        lines = []
        for r in plan.responsibilities.all():
            group = groups.get(r.deductible_group)
            deductible = f"{yuan(group.amount)}（{group.name}）" if group else "无"
            ratio = band_text if r.schedule == Responsibility.BANDS else percent(r.flat_ratio or Decimal("0"))
            lines.append(LineSummary(name=r.name, limit=r.annual_limit, deductible=deductible, ratio=ratio))
        summaries.append(PlanSummary(plan=plan, lines=lines, pre_existing=percent(plan.pre_existing_ratio)))
    return summaries


def version_exists(slug: str) -> bool:
    return ProductVersion.objects.filter(slug=slug).exists()


# --- Purchase checks ---------------------------------------------------------------------------

ADULT_AGE = 18


@dataclass(frozen=True)
class PersonInput:
    """One person a resident wants to insure, as typed."""

    name: str
    id_number: str
    relation: str
    guardian: bool = False  # the buyer declares being the minor's guardian (relation "other")
    own: bool = False  # the resident himself, filled in on the server (the page never shows his full ID)


@dataclass
class PersonCheck:
    """The live answer for one person: field errors (code, Chinese message), or the price."""

    errors: dict[str, list[tuple[str, str]]]
    id_number: str = ""
    masked: str = ""
    price: Decimal | None = None
    age: int | None = None
    minor: bool = False
    status: str = ""  # what the registry said, in Chinese
    medical_assistance: bool = False
    insured_region: str = ""  # 参保地, kept on the policy (never shown to another person)
    midyear: bool = False  # a mid-year joiner (enrollment/midyear.py): cover from the next day, premium per rule

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, field: str, code: str, message: str) -> None:
        self.errors.setdefault(field, []).append((code, message))


NAME_PATTERN = re.compile(r"^[\u4e00-\u9fa5·A-Za-z][\u4e00-\u9fa5·A-Za-z ]{0,28}[\u4e00-\u9fa5A-Za-z]$")

# --- Least disclosure: what a buyer learns about another person ---------------------------------
#
# Someone buying for another person learns only what he needs to buy: "可以投保", or one of three
# categories. Never the insured region, the registry's status, the channel that covers the person,
# or a sensitive status (医疗救助): those are for the person himself (his own live check, his
# policies), his guardian (the minor's policies he bought) and staff whose role needs them.

NAME_MISMATCH = ("name_mismatch", "姓名与身份证号不符")
NOT_ELIGIBLE = ("not_eligible", "不符合投保条件")
ALREADY_COVERED = ("already_covered", "本年度已参保")
CATEGORIES = {"name_mismatch": NAME_MISMATCH, "not_insured": NOT_ELIGIBLE, "suspended": NOT_ELIGIBLE,
              "outside_region": NOT_ELIGIBLE, "already_covered": ALREADY_COVERED}
ELIGIBLE_TEXT = "可以投保"


def disclosed(code: str) -> tuple[str, str]:
    """The category another person may learn for a registry or coverage refusal ``code``."""
    return CATEGORIES.get(code, NOT_ELIGIBLE)


class CheckLimitReached(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def count_person_check(*, resident, id_number: str, name: str) -> None:
    """Count a check of another person against the account's quotas (a day, and a burst a minute).
    The same ID and name again the same day costs nothing: only new questions are counted."""
    from django.conf import settings
    from django.core.cache import cache
    from django.utils import timezone

    from enrollment import quotas
    from portal import crypto

    asked = f"quota:person-check-seen:{resident.pk}:{crypto.blind_index(id_number + '|' + name)}:" \
            f"{timezone.localdate():%Y%m%d}"
    if not cache.add(asked, 1, timeout=quotas.DAY):  # asked before (or being asked right now)
        return
    day = quotas.daily("person-check", resident.pk, settings.PERSON_CHECKS_PER_ACCOUNT_DAY)
    minute = quotas.rolling("person-check-minute", resident.pk, settings.PERSON_CHECKS_PER_ACCOUNT_MINUTE, 60)
    refused = quotas.take(day, minute)
    if refused is not None:
        cache.delete(asked)
    if refused is day:
        raise CheckLimitReached(f"今日为他人查询投保资格已达{day.maximum}人次上限，请明日再试。为单位职工等多人投保请使用单位名单。")
    if refused is minute:
        raise CheckLimitReached("查询过于频繁，请稍候1分钟再试。")


def person_check(*, resident, plan: Plan, person: PersonInput, today) -> PersonCheck:
    """Check one person for ``plan`` (see ``people_check``)."""
    return people_check(resident=resident, plan=plan, people=[person], today=today)[0]


def people_check(*, resident, plan: Plan, people: list[PersonInput], today) -> list[PersonCheck]:
    """Check each person for ``plan``: ID, relation and guardianship, base insurance, not yet
    covered this product year through any channel, the age-band price. One query for who is
    covered and one registry request for everyone, whatever the number of people.

    The resident's own check says why in detail; a check of anyone else says only "可以投保" or one
    category (``disclosed``), and is counted against the account's daily quota."""
    from enrollment import idnumber, midyear, registry
    from enrollment.models import Policy, Relation
    from portal import crypto

    version = plan.version
    late = midyear.late_terms(version, today)
    priced_on = late.cover_start if late else version.coverage_start  # midyear.pricing_day, read once
    own = resident.person.id_number if resident.person_id else None
    checks, himself = [], {}
    for person in people:
        check = PersonCheck(errors={})
        checks.append(check)
        name = person.name.strip()
        if not name:
            check.add("name", "name_required", "请填写姓名。")
        elif not NAME_PATTERN.match(name):
            check.add("name", "name_invalid", "姓名应为2至30个汉字或字母，与身份证一致。")
        if person.relation not in Relation.values:
            check.add("relation", "relation_invalid", "请选择与投保人的关系。")
        try:
            parsed = idnumber.parse(person.id_number)
        except idnumber.IdNumberError as exc:
            check.add("id_number", exc.code, exc.message)
            continue
        check.id_number, check.masked = parsed.number, idnumber.mask(parsed.number)
        himself[id(check)] = parsed.number == own
        if person.relation == Relation.SELF and not himself[id(check)]:
            check.add("relation", "not_self", "“本人”须与实名认证的身份证号一致；为家人投保请选择对应关系。")
        if person.relation != Relation.SELF and himself[id(check)]:
            check.add("relation", "is_self", "这是您本人的身份证号，关系请选择“本人”。")
        check.age = parsed.age_on(today)
        check.minor = check.age < ADULT_AGE
        if check.minor and person.relation == Relation.SELF:
            check.add("relation", "minor_self", "未成年人不能自行投保，请由父母或其他监护人代为投保。")
        elif check.minor and person.relation not in (Relation.CHILD,) and not person.guardian:
            check.add("guardian", "guardian_required", "被保险人未满18周岁，须由监护人投保：请确认您是其监护人。")
        # A mid-year joiner (a newborn, say) is priced by his age when his own cover starts.
        check.price = plan.price_for_age(parsed.age_on(priced_on))
        if check.price is None:
            check.add("id_number", "no_price", "该年龄暂无对应保费，请联系客服。")
        if not check.errors and not himself[id(check)]:
            try:
                count_person_check(resident=resident, id_number=parsed.number, name=name)
            except CheckLimitReached as limit:
                check.add("limit", "check_limit", limit.message)

    pending = [(c, p) for c, p in zip(checks, people, strict=True) if c.id_number and not c.errors]
    hashes = {crypto.blind_index(c.id_number): c for c, _ in pending}
    covered = set(Policy.objects.filter(version=version, status__in=Policy.LIVE, person__id_hash__in=list(hashes))
                  .values_list("person__id_hash", flat=True)) if hashes else set()
    for digest in covered:
        check = hashes[digest]
        if himself[id(check)]:
            check.add("id_number", "already_covered", f"您已有{version.year}年度保单，每人每年度限购一份。")
        else:
            check.add("registry", *ALREADY_COVERED)
    ask = [(c, p) for c, p in pending if not c.errors]
    if not ask:
        return checks
    try:
        answers = registry.lookup_many([(c.id_number, p.name.strip()) for c, p in ask])
    except registry.RegistryUnavailable:
        for check, _ in ask:
            check.add("registry", "registry_unavailable",
                      "医保参保信息查询暂时不可用，请稍后重试。我们不会在未核实参保状态时承保。")
        return checks
    for check, _ in ask:
        answer, mine = answers[check.id_number], himself[id(check)]
        verdict = registry.eligibility(version.program, answer)
        if not verdict.ok:
            check.add("registry", *((verdict.code, verdict.message) if mine else disclosed(verdict.code)))
        elif late is not None and not midyear.qualifies(version.program, answer, today):
            check.add("registry", *midyear.refusal(version))
        else:
            check.status = "基本医保参保正常" if mine else ELIGIBLE_TEXT
            check.medical_assistance = answer.medical_assistance
            check.insured_region = answer.insured_region
            if late is not None:
                check.midyear = True
                check.price = late.premium(check.price)
    return checks


def consent_texts() -> list:
    """The texts in force for the terms and for personal information, in one query."""
    from enrollment.models import ConsentText

    latest = {t.kind: t for t in ConsentText.objects.filter(kind__in=[ConsentText.TERMS, ConsentText.PRIVACY])
              .order_by("kind", "-effective_at").distinct("kind")}
    return [latest[ConsentText.TERMS], latest[ConsentText.PRIVACY]]


def prior_consecutive_years(*, person, version) -> int:
    """How many years in a row, just before ``version``'s year, ``person`` held a paid policy of
    the same program (the continuous-enrollment uplift reads it)."""
    from enrollment.models import Policy

    years = set(
        Policy.objects.filter(
            person=person, version__program=version.program, status__in=[Policy.ACTIVE],
            version__year__lt=version.year,
        ).values_list("version__year", flat=True)
    )
    count, year = 0, version.year - 1
    while year in years:
        count, year = count + 1, year - 1
    return count


def prior_consecutive_years_many(*, person_ids: list[int], version) -> dict[int, int]:
    """``prior_consecutive_years`` for many people in one query."""
    from enrollment.models import Policy

    years: dict[int, set[int]] = {}
    for person_id, year in Policy.objects.filter(
        person_id__in=person_ids, version__program=version.program, status=Policy.ACTIVE, version__year__lt=version.year,
    ).values_list("person_id", "version__year"):
        years.setdefault(person_id, set()).add(year)
    counts = {}
    for person_id, held in years.items():
        count, year = 0, version.year - 1
        while year in held:
            count, year = count + 1, year - 1
        counts[person_id] = count
    return counts


# --- Who sees and manages each policy -------------------------------------------------------------
#
# A policy is the insured person's (once he binds his account with verified identity, whoever
# bought it) and the buyer's who paid with his own money: himself and family (self, family and
# renewal channels; a guardian buying for a minor is such a buyer). A policy bought through an
# organization's or a donor's list is managed on that list's pages, never in anyone's 我的保单
# except the insured person's. A policy bought "for oneself" stays the buyer's only while his
# account is bound to that person: an account that lost the person (taken back by its owner) keeps
# nothing of it.

PERSONAL_CHANNELS = ("self", "family", "renewal")


def paid_by(resident):
    """The condition for policies ``resident`` bought with his own money and manages (cancels)."""
    from django.db.models import Q

    from enrollment.models import Relation

    bought = Q(order__resident=resident, order__organization__isnull=True, order__campaign__isnull=True,
               channel__in=PERSONAL_CHANNELS)
    return bought & (~Q(relation=Relation.SELF) | Q(person_id=resident.person_id))


def visible_to(resident):
    """The condition for policies ``resident`` may read: his own as the insured, and those he paid."""
    from django.db.models import Q

    condition = paid_by(resident)
    if resident.person_id:
        condition |= Q(person_id=resident.person_id)
    return condition


def resident_policies(resident):
    """我的保单: the policies covering the resident (bought by anyone) and those he paid for."""
    from enrollment.models import Policy

    return (
        Policy.objects.filter(visible_to(resident))
        .exclude(status=Policy.EXPIRED)
        .select_related("person", "plan", "version__program", "order")
        .order_by("-version__year", "created_at")
    )


def guarded_policies(resident, *, today=None):
    """Policies of minors this account bought as their guardian (a child, or a guardian's consent
    given by this account), while they are minors: the guardian reads their claims too."""
    from datetime import date

    from django.db.models import Q
    from django.utils import timezone

    from enrollment.models import Policy, Relation

    today = today or timezone.localdate()
    adult_born = date(today.year - ADULT_AGE, today.month, 28 if (today.month, today.day) == (2, 29) else today.day)
    guardian = Q(relation=Relation.CHILD) | Q(consents__as_guardian=True, consents__given_by=resident)
    return Policy.objects.filter(paid_by(resident) & guardian, person__birth_date__gt=adult_born).distinct()


# --- Payout estimator --------------------------------------------------------------------------

ESTIMATE_FIELDS = {
    "in_catalog_self_pay": "医保目录内个人自付（乙类自付、丙类）",
    "out_of_catalog": "医保目录外费用",
    "heavy_ion": "重离子治疗费用（恶性肿瘤）",
}


class EstimateInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(next(iter(errors.values())))


def payout_estimate(*, plan: Plan, amounts: dict[str, str], pre_existing: bool, consecutive_years="0",
                    medical_assistance: bool = False):
    """What ``plan`` would pay for one in-region inpatient stay at a designated tertiary hospital
    with these costs (heavy-ion therapy with a malignant-tumour diagnosis). Returns the engine's
    ``YearResult``; raises ``EstimateInvalid`` naming each bad field."""
    from datetime import datetime, time
    from decimal import InvalidOperation
    from zoneinfo import ZoneInfo

    from claims.rules.engine import adjudicate_year
    from claims.rules.model import PolicyFacts, Settlement

    errors: dict[str, str] = {}
    values: dict[str, Decimal] = {}
    for field, label in ESTIMATE_FIELDS.items():
        text = (amounts.get(field) or "").strip().replace(",", "").replace("，", "") or "0"
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors[field] = f"{label}：请输入金额（元），例如 30000"
            continue
        if not value.is_finite() or value < 0 or value > Decimal("100000000"):
            errors[field] = f"{label}：金额应在0到1亿元之间"
        elif value != value.quantize(Decimal("0.01")):
            errors[field] = f"{label}：金额最多保留两位小数"
        else:
            values[field] = value.quantize(Decimal("0.01"))
    try:
        years = int(str(consecutive_years).strip() or "0")
        if not 0 <= years <= 50:
            raise ValueError
    except ValueError:
        errors["consecutive_years"] = "连续参保年数：请输入0到50之间的整数"
        years = 0
    if not errors and not any(values.values()):
        errors["in_catalog_self_pay"] = "请至少填写一项费用"
    if errors:
        raise EstimateInvalid(errors)
    version = plan.version
    start = version.coverage_start
    settled = datetime.combine(start, time(12), tzinfo=ZoneInfo("Asia/Shanghai"))
    settlement = Settlement(
        settlement_id="estimate",
        id_number="000000000000000000",
        name="",
        hospital_code="",
        hospital_name="",
        hospital_level=3,
        designated=True,
        in_region=True,
        visit_type="inpatient",
        admission_date=start,
        discharge_date=start,
        settled_at=settled,
        diagnoses=("C34.9",) if values.get("heavy_ion") else ("Z00.0",),
        pre_existing=pre_existing,
        amounts={"total": sum(values.values(), Decimal("0.00")), **values},
    )
    policy = PolicyFacts(
        id_number="000000000000000000",
        coverage_start=start,
        coverage_end=version.coverage_end,
        consecutive_years=years,
        medical_assistance=medical_assistance,
    )
    return adjudicate_year(benefit_config(plan), policy, [settlement])


def renewal_candidates(resident):
    """Active policies the resident bought in programs offering auto-renewal, not yet authorised."""
    from enrollment.models import Policy, RenewalAuthorization

    authorised = RenewalAuthorization.objects.filter(resident=resident, revoked_at__isnull=True).values("person_id")
    return (
        Policy.objects.filter(paid_by(resident), status=Policy.ACTIVE, version__program__auto_renewal=True)
        .exclude(person_id__in=authorised)
        .select_related("person", "plan", "version__program")
    )


# --- Organizations, campaigns, lists ---------------------------------------------------------------


def campaigns_with_progress(queryset=None):
    """Campaigns with ``people`` (active policies) and ``given`` (their premiums) in one query."""
    from django.db.models import Count, Q, Sum

    from enrollment.models import Campaign, Policy

    active = Q(policies__status=Policy.ACTIVE)
    queryset = Campaign.objects.all() if queryset is None else queryset
    return (queryset.select_related("organizer", "plan__version__program")
            .annotate(people=Count("policies", filter=active), given=Sum("policies__premium", filter=active)))


def progress_percent(done, target) -> int:
    if not target:
        return 0
    return min(100, int(Decimal(done or 0) * 100 / Decimal(target)))


def list_counts(beneficiaries) -> dict[str, int]:
    return list_summary(beneficiaries)[0]


def list_summary(beneficiaries) -> tuple[dict[str, int], Decimal]:
    """Rows per status and the premiums of the valid ones, in one grouped query."""
    from django.db.models import Count, Sum

    from enrollment.models import BeneficiaryRow

    counts, valid_amount = {}, Decimal("0.00")
    for status, n, amount in (BeneficiaryRow.objects.filter(list_id=beneficiaries.pk).order_by()
                              .values_list("status").annotate(n=Count("id"), amount=Sum("price"))
                              .values_list("status", "n", "amount")):
        counts[status] = n
        if status == BeneficiaryRow.VALID:
            valid_amount = amount or Decimal("0.00")
    counts["total"] = sum(counts.values())
    return counts, valid_amount


REPORT_HEADER = ["行号", "姓名", "身份证号", "手机号", "结果", "原因代码", "说明", "保费", "保单号"]


def list_report_rows(beneficiaries):
    for row in beneficiaries.rows.select_related("policy").order_by("row_number").iterator(chunk_size=2000):
        phone = row.phone
        phone = f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone
        yield [row.row_number, row.name, row.id_masked, phone, row.get_status_display(), row.code, row.message,
               row.price, row.policy.number if row.policy_id else ""]


def group_premiums(*, organization, year: int, until=None) -> Decimal:
    """Premiums an employer or collective paid for its own people in a tax year (paid orders, less
    cancelled policies), up to ``until`` (a payment time) when given."""
    from django.db.models import Sum

    from enrollment.models import Order, Policy

    policies = Policy.objects.filter(order__organization=organization, order__status=Order.PAID,
                                     order__channel__in=Order.GROUP_PREMIUM_CHANNELS, order__paid_at__year=year,
                                     status=Policy.ACTIVE)
    if until is not None:
        policies = policies.filter(order__paid_at__lte=until)
    return policies.aggregate(total=Sum("premium"))["total"] or Decimal("0.00")


def group_receipt_figures(order) -> dict:
    """What a 团体投保保费凭证 states: the tax year, the declared payroll, the 5% limit, the premiums
    paid that year up to and including this order, their share of the payroll and what exceeds it."""
    from django.utils import timezone

    from enrollment import organizations
    from enrollment.models import OrganizationPayroll

    year = timezone.localtime(order.paid_at).year
    cumulative = group_premiums(organization=order.organization, year=year, until=order.paid_at)
    declared = OrganizationPayroll.objects.filter(organization=order.organization, year=year).first()
    figures = {"year": year, "cumulative": cumulative, "payroll": None, "cap": None, "share": None, "over": None}
    if declared is not None:
        room = organizations.tax_room(payroll=declared.amount, spent=cumulative)
        figures.update(payroll=declared.amount, cap=room["cap"],
                       share=(cumulative / declared.amount * 100).quantize(Decimal("0.01")) if declared.amount else None,
                       over=max(cumulative - room["cap"], Decimal("0.00")))
    return figures


def member_organizations(resident):
    from enrollment.models import Organization

    return Organization.objects.filter(members__resident=resident).order_by("name")
