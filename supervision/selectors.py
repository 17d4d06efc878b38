"""The dashboards' figures, each computed by the database (GROUP BY), never a query per row.

Definitions (written down in the README):
- enrolled: active policies of the product version (paid, not cancelled);
- district: where the person's base insurance was (参保地) as the registry answered when the policy
  was bought (``Policy.insured_region``; a policy written before that was recorded falls back to
  the ID number's region code), against the eligible population (people insured in the district)
  staff import per district and year;
- premiums written: the premiums of active policies;
- claims paid: what payout batches paid (``Claim.paid_amount``); pending: what is approved or still
  to be decided but not yet paid (``payout − paid_amount``, rejected claims excluded);
- payout ratio (给付率) and loss ratio (赔付率): (paid + pending) / premiums; the loss ratio is also taken
  over the program's cycle; cost ratio (综合成本率): (claims + premiums × operating-cost rate) / premiums;
- surplus: premiums − claims − operating costs, when positive: it rolls into the next year's pool;
- turnaround (理赔时效): per claim, from the hospital settlement (``Settlement.settled_at``) to the money
  received (the reconciliation of the first payout batch that paid it a positive amount), in days;
  a claim settled at the hospital window had its money at the window: received at the settle call
  (``WindowSettlement.settled_at``), its turnaround that call less the settlement time, never below
  0 (a reversed window settlement, or one that paid nothing, is not counted);
  p50 and p90 by ``percentile_cont`` in the database, per program and month the money was received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf, TruncDate

from claims.models import Claim
from enrollment.models import CampaignKind, Channel, CoInsurer, Policy, ProductVersion, Program
from supervision import shares
from supervision.models import DistrictPopulation, FollowUpVisit, InsurerStaff, Ticket

SMALL_CELL = 5
ZERO = Decimal("0.00")
AGE_BANDS = [("0–17岁", 0, 17), ("18–59岁", 18, 59), ("60–69岁", 60, 69), ("70岁及以上", 70, None)]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def visible_programs(user):
    """Superusers and the bureau see every program; an insurer's staff see their insurer's."""
    if not user.is_authenticated:
        return Program.objects.none()
    if user.is_superuser:
        return Program.objects.all()
    if not user.has_perm("supervision.view_dashboard"):
        return Program.objects.none()
    staff = InsurerStaff.objects.filter(user=user).select_related("coinsurer").first()
    if staff is not None:
        return Program.objects.filter(pk=staff.coinsurer.program_id)
    return Program.objects.all()


def resident_tickets(resident):
    """The resident's own tickets and those opened for an organization he acts for."""
    return Ticket.objects.filter(Q(resident=resident) | Q(organization__members__resident=resident)).distinct(
    ).select_related("organization")


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def ratio(part: Decimal | int | None, whole: Decimal | int | None) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part or 0) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Row:
    label: str
    people: int
    base: int | None = None  # the eligible population, where there is one
    rate: Decimal | None = None
    pct: int = 0  # bar length for the chart, 0–100 of the table's largest value

    @property
    def small(self) -> bool:
        return 0 < self.people < SMALL_CELL

    @property
    def shown(self):
        """What the screen shows: 1 to 4 people are ``<5``, like the exports."""
        return suppress(self.people)

    @property
    def rate_text(self) -> str:
        return percent(self.rate)

    @property
    def shown_rate(self) -> str:
        return "<5" if self.small else self.rate_text


@dataclass
class Enrollment:
    version: ProductVersion
    total: int
    eligible: int
    rate: Decimal | None
    target_rate: Decimal | None
    target_people: int | None
    districts: list[Row]
    channels: list[Row]
    plans: list[Row]
    ages: list[Row]
    trend: list[tuple[date, int, int]]  # day, enrolled that day, cumulative
    chart: dict = field(default_factory=dict)

    @property
    def shown(self):
        return suppress(self.total)

    @property
    def rate_text(self) -> str:
        return percent(self.rate)

    @property
    def shown_rate(self) -> str:
        return "<5" if 0 < self.total < SMALL_CELL else self.rate_text

    @property
    def target_text(self) -> str:
        return percent(self.target_rate)


def _bars(rows: list[Row]) -> list[Row]:
    """Bar lengths; a suppressed cell (1–4 people) draws none, so its length tells nothing either."""
    top = max((r.people for r in rows), default=0)
    for row in rows:
        row.pct = round(row.people * 100 / top) if top and not row.small else 0
    return rows


def _channel_label(channel: str, kind: str | None) -> str:
    if channel == Channel.CAMPAIGN and kind:
        return f"“四心”·{CampaignKind(kind).label}"
    return Channel(channel).label


def enrollment(version: ProductVersion) -> Enrollment:
    """Four GROUP BY queries over the version's active policies, whatever their number: (district,
    age band) over the insured persons, (channel, campaign, plan), the day of activation, and the
    eligible population."""
    active = Policy.objects.filter(version=version, status=Policy.ACTIVE)
    populations = list(DistrictPopulation.objects.filter(program=version.program, year=version.year))
    eligible = sum(p.eligible for p in populations)
    start = version.coverage_start

    def years_before(years: int) -> date:
        return start.replace(year=start.year - years, day=28 if (start.month, start.day) == (2, 29) else start.day)

    # Younger than ``high + 1`` at cover start ⇔ born after that many years before it.
    band = Case(*[When(person__birth_date__gt=years_before(high + 1), then=Value(label))
                  for label, _, high in AGE_BANDS if high is not None],
                default=Value(AGE_BANDS[-1][0]), output_field=CharField())
    counts: dict[str, int] = {}
    by_band: dict[str, int] = {}
    district = Coalesce(NullIf("insured_region", Value("")), F("person__region_code"), output_field=CharField())
    for region, label, n in active.annotate(band=band, district=district).values_list("district", "band").annotate(
            n=Count("id")).values_list("district", "band", "n"):
        counts[region] = counts.get(region, 0) + n
        by_band[label] = by_band.get(label, 0) + n
    total = sum(counts.values())
    districts = [Row(p.name, counts.pop(p.region_code, 0), p.eligible) for p in populations]
    if counts:
        districts.append(Row("其他地区（参保地不在上表）", sum(counts.values())))
    for row in districts:
        row.rate = ratio(row.people, row.base)
    by_channel: dict[tuple[int, str], int] = {}
    by_plan: dict[int, int] = {}
    for channel, kind, plan_id, n in active.values_list("channel", "campaign__kind", "plan_id").annotate(
            n=Count("id")).values_list("channel", "campaign__kind", "plan_id", "n"):
        key = (Channel.values.index(channel), kind or "")
        by_channel[key] = by_channel.get(key, 0) + n
        by_plan[plan_id] = by_plan.get(plan_id, 0) + n
    channels = [Row(_channel_label(Channel.values[i], kind or None), n) for (i, kind), n in sorted(by_channel.items())]
    plans = [Row(plan.name, by_plan[plan.pk]) for plan in version.plans.order_by("position") if plan.pk in by_plan]
    ages = [Row(label, by_band.get(label, 0)) for label, _, _ in AGE_BANDS]
    daily = dict(active.annotate(day=TruncDate("activated_at", tzinfo=SHANGHAI)).values_list("day").annotate(
        n=Count("id")).values_list("day", "n"))
    trend, running = [], 0
    first = min([version.sales_start, *daily]) if daily else version.sales_start
    last = max([version.sales_end, *daily]) if daily else version.sales_end
    day = first
    while day <= last:
        running += daily.get(day, 0)
        trend.append((day, daily.get(day, 0), running))
        day += timedelta(days=1)
    program = version.program
    target_people = (int((program.enrollment_target_rate * eligible).to_integral_value(ROUND_HALF_UP))
                     if program.enrollment_target_rate is not None and eligible else None)
    result = Enrollment(version=version, total=total, eligible=eligible, rate=ratio(total, eligible),
                        target_rate=program.enrollment_target_rate, target_people=target_people,
                        districts=_bars(districts), channels=_bars(channels), plans=_bars(plans), ages=_bars(ages),
                        trend=trend)
    result.chart = _trend_chart(trend, target_people)
    return result


def _trend_chart(trend, target_people, width=600, height=200) -> dict:
    """Points of the cumulative line and the target line, in an SVG viewBox (no script, no CDN)."""
    top = max([target_people or 0, *(c for _, _, c in trend)], default=0) or 1
    step = width / max(len(trend) - 1, 1)

    def y(value):
        return round(height - value * (height - 10) / top, 1)

    # A running total of 1 to 4 is drawn at 0, as the export writes it "<5".
    points = " ".join(f"{round(i * step, 1)},{y(0 if 0 < c < SMALL_CELL else c)}" for i, (_, _, c) in enumerate(trend))
    return {"width": width, "height": height, "points": points,
            "target_y": y(target_people) if target_people else None}


# --- Money ----------------------------------------------------------------------------------------


@dataclass
class Money:
    label: str
    premiums: Decimal
    people: int
    paid: Decimal
    pending: Decimal
    operating: Decimal
    payout_ratio: Decimal | None
    cost_ratio: Decimal | None
    surplus: Decimal
    checks: list[tuple[str, bool, str]]  # (figure, meets the program's rule, rule in words)

    @property
    def claims(self) -> Decimal:
        return self.paid + self.pending

    @property
    def payout_text(self) -> str:
        return percent(self.payout_ratio)

    @property
    def cost_text(self) -> str:
        return percent(self.cost_ratio)


def _money_by_version(versions) -> dict[int, dict]:
    premiums = {v: (p or ZERO, n) for v, p, n in Policy.objects.filter(
        version__in=versions, status=Policy.ACTIVE).values_list("version").annotate(
        p=Sum("premium"), n=Count("id")).values_list("version", "p", "n")}
    claims = {v: (paid or ZERO, payout or ZERO) for v, paid, payout in Claim.objects.filter(
        policy__version__in=versions).exclude(state=Claim.REJECTED).values_list("policy__version").annotate(
        paid=Sum("paid_amount"), payout=Sum("payout")).values_list("policy__version", "paid", "payout")}
    out = {}
    for version in versions:
        premium, people = premiums.get(version.pk, (ZERO, 0))
        paid, payout = claims.get(version.pk, (ZERO, ZERO))
        out[version.pk] = {"premiums": premium, "people": people, "paid": paid, "pending": payout - paid}
    return out


def _money(label: str, program: Program, premiums, people, paid, pending, *, cycle: bool) -> Money:
    operating = _cents(premiums * program.operating_cost_rate)
    claims = paid + pending
    payout_ratio = ratio(claims, premiums)
    cost_ratio = ratio(claims + operating, premiums)
    checks = []
    if not cycle and program.payout_ratio_floor is not None and payout_ratio is not None:
        checks.append(("给付率", payout_ratio >= program.payout_ratio_floor, f"不低于{percent(program.payout_ratio_floor)}"))
    if not cycle and program.cost_ratio_ceiling is not None and cost_ratio is not None:
        checks.append(("综合成本率", cost_ratio <= program.cost_ratio_ceiling,
                       f"不高于{percent(program.cost_ratio_ceiling)}"))
    # Weihai: 年度赔付率不低于80%, and judged over the 3-year cycle: both are shown.
    if not cycle and program.loss_ratio_floor is not None and payout_ratio is not None:
        checks.append(("年度赔付率", payout_ratio >= program.loss_ratio_floor,
                       f"不低于{percent(program.loss_ratio_floor)}"))
    if cycle and program.loss_ratio_floor is not None and payout_ratio is not None:
        checks.append(("周期赔付率", payout_ratio >= program.loss_ratio_floor,
                       f"{program.cycle_years}年周期内不低于{percent(program.loss_ratio_floor)}"))
    return Money(label=label, premiums=premiums, people=people, paid=paid, pending=pending, operating=operating,
                 payout_ratio=payout_ratio, cost_ratio=cost_ratio,
                 surplus=max(premiums - claims - operating, ZERO), checks=checks)


def first_year(program: Program) -> int | None:
    return program.versions.filter(status=ProductVersion.PUBLISHED).order_by("year").values_list(
        "year", flat=True).first()


def cycle_start(program: Program, year: int) -> int:
    """The first year of the assessment cycle holding ``year`` (cycles counted from the program's
    first published year, as ``money`` counts them)."""
    first = first_year(program)
    if first is None or year < first:
        return year
    return first + (year - first) // program.cycle_years * program.cycle_years


def version_money(version: ProductVersion) -> Money:
    """One version's money figures (what a year-end close of the surplus pool reads)."""
    figures = _money_by_version([version])[version.pk]
    return _money(version.name, version.program, **figures, cycle=False)


@dataclass
class Pool:
    label: str
    balance: Decimal
    entries: list


def pools(program: Program) -> list[Pool]:
    """The program's surplus pools, newest cycle first, each with its ledger (a handful of rows a
    year: one close and a few uses)."""
    from supervision.models import PoolEntry, SurplusPool

    entries: dict[int, list] = {}
    for entry in PoolEntry.objects.filter(pool__program=program).select_related("version").order_by("created_at", "id"):
        entries.setdefault(entry.pool_id, []).append(entry)
    return [Pool(str(p), p.balance, entries.get(p.pk, []))
            for p in SurplusPool.objects.filter(program=program).select_related("program").order_by("-cycle_start")]


def money(program: Program) -> tuple[list[Money], list[Money]]:
    """Per product version, and per cycle of ``program.cycle_years`` years from its first year."""
    versions = list(program.versions.filter(status=ProductVersion.PUBLISHED).order_by("year"))
    figures = _money_by_version(versions)
    per_version = [_money(v.name, program, **figures[v.pk], cycle=False) for v in versions]
    cycles: dict[int, list[ProductVersion]] = {}
    if versions:
        first = versions[0].year
        for v in versions:
            cycles.setdefault((v.year - first) // program.cycle_years, []).append(v)
    per_cycle = []
    for members in cycles.values():
        years = f"{members[0].year}–{members[0].year + program.cycle_years - 1}年" if program.cycle_years > 1 \
            else f"{members[0].year}年"
        totals = {key: sum((figures[v.pk][key] for v in members), ZERO if key != "people" else 0)
                  for key in ("premiums", "people", "paid", "pending")}
        per_cycle.append(_money(f"{years}考核周期", program, **totals, cycle=True))
    return per_version, per_cycle


@dataclass
class InsurerShare:
    name: str
    share: Decimal
    is_lead: bool
    premiums: Decimal
    claims: Decimal

    @property
    def share_text(self) -> str:
        return percent(self.share)


def coinsurer_shares(program: Program, figures: list[Money]) -> list[tuple[str, list[InsurerShare]]]:
    """Each version's premiums and claims split by the insurers' shares, parts adding up exactly."""
    insurers = list(CoInsurer.objects.filter(program=program).order_by("-is_lead", "-share", "name"))
    weights = [i.share for i in insurers]
    out = []
    for figure in figures:
        if not insurers:
            continue
        premium_parts = shares.split(figure.premiums, weights)
        claim_parts = shares.split(figure.claims, weights)
        out.append((figure.label, [InsurerShare(i.name, i.share, i.is_lead, p, c)
                                   for i, p, c in zip(insurers, premium_parts, claim_parts, strict=True)]))
    return out


# --- Service --------------------------------------------------------------------------------------


def service(now) -> dict:
    tickets = Ticket.objects.aggregate(
        total=Count("id"),
        complaints=Count("id", filter=Q(kind=Ticket.COMPLAINT)),
        disputes=Count("id", filter=Q(kind=Ticket.DISPUTE)),
        open=Count("id", filter=~Q(status__in=Ticket.DONE)),
        answered_in_time=Count("id", filter=Q(first_response_at__isnull=False,
                                              first_response_at__lte=F("respond_by"))),
        due=Count("id", filter=Q(first_response_at__isnull=False) | Q(respond_by__lt=now)),
        overdue=Count("id", filter=Q(first_response_at__isnull=True, respond_by__lt=now) & ~Q(
            status__in=Ticket.DONE)),
    )
    visits = FollowUpVisit.objects.aggregate(
        drawn=Count("id"), reached=Count("id", filter=Q(outcome=FollowUpVisit.REACHED)),
        rated=Count("satisfaction"), score=Sum("satisfaction"),
        satisfied=Count("id", filter=Q(satisfaction__gte=4)))
    return {
        **tickets,
        "sla_rate": percent(ratio(tickets["answered_in_time"], tickets["due"])),
        **visits,
        "satisfaction": (Decimal(visits["score"]) / visits["rated"]).quantize(Decimal("0.01"))
        if visits["rated"] else None,
        "satisfied_rate": percent(ratio(visits["satisfied"], visits["rated"])),
    }


# --- Turnaround -----------------------------------------------------------------------------------


@dataclass
class Turnaround:
    month: date
    claims: int
    p50: Decimal
    p90: Decimal


TURNAROUND_SQL = """
    WITH paid AS (
        SELECT i.claim_id, MIN(b.reconciled_at) AS received, s.settled_at
          FROM claims_payoutitem i
          JOIN claims_payoutbatch b ON b.id = i.batch_id
          JOIN claims_claim c ON c.id = i.claim_id
          JOIN claims_settlement s ON s.id = c.settlement_id
         WHERE i.status = 'paid' AND i.amount > 0 AND b.program_id = %(program)s
         GROUP BY i.claim_id, s.settled_at
    ), at_window AS (
        SELECT w.settled_at AS received, GREATEST(w.settled_at - s.settled_at, interval '0') AS waited
          FROM claims_windowsettlement w
          JOIN claims_settlement s ON s.id = w.settlement_id
          JOIN enrollment_policy p ON p.id = w.policy_id
          JOIN enrollment_productversion v ON v.id = p.version_id
         WHERE w.reversed_at IS NULL AND w.payout > 0 AND v.program_id = %(program)s
    ), received AS (
        SELECT received, received - settled_at AS waited FROM paid
         UNION ALL
        SELECT received, waited FROM at_window
    )
    SELECT (date_trunc('month', received AT TIME ZONE 'Asia/Shanghai'))::date AS month, COUNT(*),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM waited) / 86400),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM waited) / 86400)
      FROM received
     GROUP BY 1
     ORDER BY 1 DESC
"""


def turnaround(program: Program) -> list[Turnaround]:
    """Days from settlement to money received, p50 and p90 (continuous percentiles), per month the
    money was received (Asia/Shanghai), newest first: one query. Window claims count with the
    moment they were settled at the window."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(TURNAROUND_SQL, {"program": program.pk})
        return [Turnaround(month, count, Decimal(str(p50)).quantize(Decimal("0.01"), ROUND_HALF_UP),
                           Decimal(str(p90)).quantize(Decimal("0.01"), ROUND_HALF_UP))
                for month, count, p50, p90 in cursor.fetchall()]


# --- The page's figures ---------------------------------------------------------------------------

FIGURES_SECONDS = 60


def dashboard_figures(version: ProductVersion) -> dict:
    """The dashboard's figures over the policies and claims of ``version`` and its program
    (enrollment, money per version and per cycle, co-insurer shares, turnaround), computed at most
    once a minute per version and kept in the cache with the moment they were computed
    (``computed_at``, shown on the page as 数据更新于 HH:MM). Over 200,000 policies they take
    hundreds of milliseconds; the page is read far more often than a minute's sales change them.
    The exports compute their table when asked."""
    from django.core.cache import cache
    from django.utils import timezone

    key = _figures_key(version.pk)
    figures = cache.get(key)
    if figures is None:
        per_version, per_cycle = money(version.program)
        figures = {"enrollment": enrollment(version), "money": per_version, "cycles": per_cycle,
                   "shares": coinsurer_shares(version.program, per_version),
                   "turnaround": turnaround(version.program), "computed_at": timezone.now()}
        cache.set(key, figures, FIGURES_SECONDS)
    return figures


def _figures_key(version_id: int) -> str:
    return f"supervision:figures:{version_id}"


def figures_forget(program: Program) -> None:
    """Staff changed what the figures are computed against (the district populations): the next
    page computes them again."""
    from django.core.cache import cache

    cache.delete_many([_figures_key(pk) for pk in program.versions.values_list("pk", flat=True)])


# --- Exports ---------------------------------------------------------------------------------------


def suppress(people: int):
    """Small cells are not exported: 1 to 4 people could point at a person."""
    return "<5" if 0 < people < SMALL_CELL else people


def table(name: str, version: ProductVersion) -> tuple[list[str], list[list]]:
    """One dashboard table as header and rows, small cells suppressed, for CSV/XLSX export."""
    if name in ("districts", "channels", "plans", "ages"):
        figures = enrollment(version)
        rows = getattr(figures, name)
        header = {"districts": ["区县", "参保人数", "基本医保参保人数", "参保率"], "channels": ["渠道", "参保人数"],
                  "plans": ["方案", "参保人数"], "ages": ["年龄段", "参保人数"]}[name]
        out = []
        for row in rows:
            small = 0 < row.people < SMALL_CELL
            line = [row.label, suppress(row.people)]
            if name == "districts":
                line += [row.base if row.base is not None else "",
                         "<5" if small else (percent(row.rate) if row.rate is not None else "")]
            out.append(line)
        return header, out
    if name == "trend":
        figures = enrollment(version)
        return ["日期", "当日参保", "累计参保"], [[f"{d:%Y-%m-%d}", suppress(n), suppress(c)]
                                                 for d, n, c in figures.trend]
    if name == "money":
        per_version, per_cycle = money(version.program)
        header = ["期间", "参保人数", "保费收入", "已赔付", "未决赔款", "经营费用", "给付率", "综合成本率", "结余"]
        return header, [[m.label, suppress(m.people), m.premiums, m.paid, m.pending, m.operating,
                         m.payout_text, m.cost_text, m.surplus]
                        for m in per_version + per_cycle]
    if name == "turnaround":
        return ["月份", "已支付理赔件数", "中位数（天）", "90分位（天）"], [
            [f"{t.month:%Y-%m}", t.claims, t.p50, t.p90] for t in turnaround(version.program)]
    if name == "coinsurers":
        per_version, _ = money(version.program)
        out = []
        for label, parts in coinsurer_shares(version.program, per_version):
            out += [[label, p.name + ("（主承保）" if p.is_lead else ""), percent(p.share), p.premiums, p.claims]
                    for p in parts]
        return ["期间", "保险公司", "份额", "保费", "赔款"], out
    raise KeyError(name)


TABLES = {"districts": "分区县参保", "channels": "分渠道参保", "plans": "分方案参保", "ages": "分年龄段参保",
          "trend": "每日参保", "money": "保费与赔付", "coinsurers": "共保分摊", "turnaround": "理赔时效"}
