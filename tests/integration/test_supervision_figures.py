"""Every dashboard figure against a small fixture computed by hand.

wuwei-2025 (cover from 2025-07-01), eligible population 凉州区 10 and 民勤县 5:
  A 凉州区 born 1950 (75)  self      active   claim 200.00 paid
  B 凉州区 born 1980 (45)  family    active   claim  50.00 approved, not paid
  C 凉州区 born 2015 (10)  employer  active
  D 民勤县 born 1960 (65)  敬孝心     active   claim 1000.00 rejected (not counted)
  E 兰州   born 1990 (35)  fund      active
  F 凉州区 born 1970       self      cancelled (not counted)
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from claims.models import Claim, Settlement
from enrollment.models import Campaign, Order, Person, Plan, Policy, ProductVersion
from supervision import selectors, services
from supervision.models import DistrictPopulation, FollowUpVisit, Ticket
from tests.factories import make_id, make_resident, settlement_source

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


SERIAL = itertools.count(1)


def policy(version, plan, region, born, channel, *, status=Policy.ACTIVE, day=15, campaign=None):
    n = [next(SERIAL)]
    person = Person(name=f"甲{chr(0x4E00 + n[0])}")
    person.set_id_number(make_id(f"{region}{born}0101{n[0]:03d}"))
    person.save()
    order = Order.objects.create(number=f"O{n[0]:06d}", version=version, channel=channel, amount=Decimal("69.00"),
                                 status=Order.PAID, expires_at=timezone.now())
    return Policy.objects.create(
        number=f"P{n[0]:06d}", person=person, version=version, plan=plan, order=order, channel=channel,
        campaign=campaign, premium=Decimal("69.00"), coverage_start=version.coverage_start,
        coverage_end=version.coverage_end, status=status,
        activated_at=datetime(2025, 6, day, 10, tzinfo=TZ) if status == Policy.ACTIVE else None)


def claim(policy_, payout, paid, state):
    from claims.models import SettlementSource

    n = [next(SERIAL)]
    source = SettlementSource.objects.filter(key_id="WW-FEED-1").first() or settlement_source()
    settlement = Settlement.objects.create(
        source=source, settlement_id=f"S{n[0]}", record={}, content_hash="x", id_hash="h", id_masked="m", name="n",
        hospital_code="H", hospital_name="医院", admission_date=date(2025, 8, 1),
        settled_at=datetime(2025, 8, 2, tzinfo=TZ), pre_existing=False, policy=policy_, match_status="matched")
    return Claim.objects.create(settlement=settlement, policy=policy_, payout=Decimal(payout),
                                paid_amount=Decimal(paid), state=state)


@pytest.fixture
def wuwei(products):
    version = ProductVersion.objects.get(slug="wuwei-2025")
    plan = Plan.objects.get(version=version, code="basic")
    DistrictPopulation.objects.create(program=version.program, year=2025, region_code="620602", name="凉州区",
                                      eligible=10)
    DistrictPopulation.objects.create(program=version.program, year=2025, region_code="620621", name="民勤县",
                                      eligible=5)
    elders = Campaign.objects.create(kind="jingxiao", name="敬老", slug="elders", plan=plan, target_group="老人",
                                     target_count=10, budget=Decimal("690.00"))
    a = policy(version, plan, "620602", 1950, "self", day=10)
    b = policy(version, plan, "620602", 1980, "family", day=10)
    policy(version, plan, "620602", 2015, "employer", day=12)
    d = policy(version, plan, "620621", 1960, "campaign", campaign=elders, day=20)
    policy(version, plan, "620102", 1990, "fund", day=20)
    policy(version, plan, "620602", 1970, "self", status=Policy.CANCELLED)
    claim(a, "200.00", "200.00", Claim.PAID)
    claim(b, "50.00", "0.00", Claim.APPROVED)
    claim(d, "1000.00", "0.00", Claim.REJECTED)
    return version


def rows(table):
    return [(r.label, r.people) for r in table]


def test_enrollment_counts_and_rates(wuwei):
    figures = selectors.enrollment(wuwei)
    assert (figures.total, figures.eligible, figures.rate_text) == (5, 15, "33.33%")
    assert [(r.label, r.people, r.rate_text) for r in figures.districts] == [
        ("凉州区", 3, "30.00%"), ("民勤县", 1, "20.00%"), ("其他地区（参保地不在上表）", 1, "—")]
    assert rows(figures.channels) == [("个人自购", 1), ("家庭代购", 1), ("单位团体", 1), ("“四心”·敬孝心", 1),
                                      ("爱心基金", 1)]
    assert [n for _, n in rows(figures.plans)] == [5]
    assert rows(figures.ages) == [("0–17岁", 1), ("18–59岁", 2), ("60–69岁", 1), ("70岁及以上", 1)]


def test_the_daily_trend_runs_through_the_sales_window(wuwei):
    trend = selectors.enrollment(wuwei).trend
    assert trend[0][0] == wuwei.sales_start and trend[-1][0] == wuwei.sales_end
    by_day = {day: (n, total) for day, n, total in trend}
    assert by_day[date(2025, 6, 10)] == (2, 2) and by_day[date(2025, 6, 12)] == (1, 3)
    assert by_day[date(2025, 6, 20)] == (2, 5) and by_day[wuwei.sales_end] == (0, 5)


def test_the_target_line_is_the_program_rate_times_the_eligible(wuwei):
    program = wuwei.program
    program.enrollment_target_rate = Decimal("0.30")
    program.save()
    figures = selectors.enrollment(ProductVersion.objects.get(pk=wuwei.pk))
    assert figures.target_people == 5 and figures.chart["target_y"] is not None  # 30% of 15 = 4.5 → 5


def test_money_ratios_and_the_surplus(wuwei):
    per_version, per_cycle = selectors.money(wuwei.program)
    m = per_version[0]
    assert (m.premiums, m.people, m.paid, m.pending, m.operating) == (
        Decimal("345.00"), 5, Decimal("200.00"), Decimal("50.00"), Decimal("27.60"))
    assert (m.payout_text, m.cost_text, m.surplus) == ("72.46%", "80.46%", Decimal("67.40"))
    assert m.checks == [("给付率", False, "不低于85.00%"), ("综合成本率", True, "不高于95.00%")]
    assert [c.label for c in per_cycle] == ["2025年考核周期"] and per_cycle[0].claims == Decimal("250.00")


def test_coinsurer_parts_add_up_to_the_totals(wuwei):
    per_version, _ = selectors.money(wuwei.program)
    (label, parts), = selectors.coinsurer_shares(wuwei.program, per_version)
    assert [(p.name, p.premiums, p.claims) for p in parts] == [
        ("共保公司甲（示例）", Decimal("172.50"), Decimal("125.00")),
        ("共保公司乙（示例）", Decimal("103.50"), Decimal("75.00")),
        ("共保公司丙（示例）", Decimal("69.00"), Decimal("50.00"))]


def test_exports_suppress_cells_of_fewer_than_five_people(wuwei):
    header, body = selectors.table("districts", wuwei)
    assert header == ["区县", "参保人数", "基本医保参保人数", "参保率"]
    assert body[0] == ["凉州区", "<5", 10, "<5"] and body[1] == ["民勤县", "<5", 5, "<5"]
    _, money = selectors.table("money", wuwei)
    assert money[0][1] == 5 and money[0][2] == Decimal("345.00")


def test_service_figures(wuwei):
    resident = make_resident(phone="13700000001", name=None, id_number=None)
    staff = make_resident(phone="13700000002", name=None, id_number=None).user
    on_time = services.ticket_open(resident=resident, kind="complaint", subject="投诉", body="等太久")
    services.ticket_reply(ticket=on_time, staff=staff, body="已处理")
    late = services.ticket_open(resident=resident, kind="enquiry", subject="咨询", body="怎么买")
    Ticket.objects.filter(pk=late.pk).update(respond_by=timezone.now() - timezone.timedelta(hours=1))
    person = Person.objects.first()
    for outcome, score in (("reached", 5), ("reached", 3), ("no_answer", None)):
        FollowUpVisit.objects.create(purpose="buyer", person=person, program=wuwei.program, outcome=outcome,
                                     satisfaction=score)
    figures = selectors.service(timezone.now())
    assert (figures["total"], figures["complaints"], figures["overdue"], figures["sla_rate"]) == (2, 1, 1, "50.00%")
    assert (figures["drawn"], figures["reached"], figures["satisfaction"], figures["satisfied_rate"]) == (
        3, 2, Decimal("4.00"), "50.00%")


def test_a_follow_up_sample_leaves_out_people_already_visited(wuwei):
    start, end = date(2025, 6, 1), date(2025, 6, 30)
    first = services.visits_draw(program=wuwei.program, purpose="buyer", start=start, end=end, count=3)
    second = services.visits_draw(program=wuwei.program, purpose="buyer", start=start, end=end, count=10)
    assert len(first) == 3 and len(second) == 2  # five buyers in the window
    assert not {v.person_id for v in first} & {v.person_id for v in second}
    claimants = services.visits_draw(program=wuwei.program, purpose="claimant", start=date(2025, 8, 1),
                                     end=date(2025, 8, 31), count=10)
    assert len(claimants) == 3


def test_a_population_file_is_imported_whole_or_not_at_all(wuwei):
    program = wuwei.program
    bad = "行政区划码,区县,基本医保参保人数\n620602,凉州区,100\n62060,民勤县,abc\n".encode("gbk")
    with pytest.raises(services.Refused) as refused:
        services.populations_import(program=program, year=2025, filename="p.csv", data=bad)
    assert "第3行" in refused.value.message
    assert DistrictPopulation.objects.filter(program=program, year=2025).count() == 2
    good = "行政区划码,区县,基本医保参保人数\n620602,凉州区,100\n620621,民勤县,50\n620622,永昌县,30\n".encode()
    assert services.populations_import(program=program, year=2025, filename="p.csv", data=good) == 3
    assert selectors.enrollment(wuwei).eligible == 180


def test_turnaround_from_settlement_to_money_received(wuwei):
    """Hand-computed: August (money received 2025-08-03 10:00): 0.5, 2 and 4 days → p50 2, p90
    2 + 0.8 × (4 − 2) = 3.6. September (received 09-01 01:00 Shanghai, which is still 08-31 in UTC,
    and 09-10 10:00): 3, 9, 10 and 40 days (a claim not paid in August's batch) → p50 9.5, p90
    10 + 0.7 × 30 = 31. A later positive adjustment, a recovery alone, a rejected item and another
    program's batch count nothing."""
    from claims.models import PayoutBatch, PayoutItem
    from enrollment.models import Program

    plan = Plan.objects.get(version=wuwei, code="basic")
    holder = policy(wuwei, plan, "620602", 1981, "self")
    staff = make_resident(phone="13700000003", name=None, id_number=None).user

    def batch(number, received, program=wuwei.program):
        return PayoutBatch.objects.create(number=number, program=program, status=PayoutBatch.RECONCILED,
                                          total=Decimal("0.00"), created_by=staff, reconciled_at=received)

    def paid(settled, *items):
        c = claim(holder, "100.00", "100.00", Claim.PAID)
        Settlement.objects.filter(pk=c.settlement_id).update(settled_at=settled)
        for b, amount, status in items:
            PayoutItem.objects.create(batch=b, claim=c, amount=Decimal(amount), status=status)
        return c

    august = batch("PB-AUG", datetime(2025, 8, 3, 10, tzinfo=TZ))
    first_sept = batch("PB-SEP1", datetime(2025, 9, 1, 1, tzinfo=TZ))
    sept = batch("PB-SEP", datetime(2025, 9, 10, 10, tzinfo=TZ))
    other = batch("PB-OTHER", datetime(2025, 8, 3, 10, tzinfo=TZ), program=Program.objects.exclude(
        pk=wuwei.program_id).first())
    paid(datetime(2025, 8, 2, 22, tzinfo=TZ), (august, "100.00", "paid"))
    paid(datetime(2025, 8, 1, 10, tzinfo=TZ), (august, "100.00", "paid"), (sept, "50.00", "paid"))
    paid(datetime(2025, 7, 30, 10, tzinfo=TZ), (august, "100.00", "paid"))
    paid(datetime(2025, 8, 29, 1, tzinfo=TZ), (first_sept, "100.00", "paid"))
    paid(datetime(2025, 9, 1, 10, tzinfo=TZ), (sept, "100.00", "paid"))
    paid(datetime(2025, 8, 31, 10, tzinfo=TZ), (sept, "100.00", "paid"))
    paid(datetime(2025, 8, 1, 10, tzinfo=TZ), (august, "100.00", "failed"), (sept, "100.00", "paid"))
    paid(datetime(2025, 8, 1, 10, tzinfo=TZ), (august, "-30.00", "paid"))
    paid(datetime(2025, 8, 1, 10, tzinfo=TZ), (other, "100.00", "paid"))

    figures = selectors.turnaround(wuwei.program)
    assert [(f"{t.month:%Y-%m}", t.claims, t.p50, t.p90) for t in figures] == [
        ("2025-09", 4, Decimal("9.50"), Decimal("31.00")), ("2025-08", 3, Decimal("2.00"), Decimal("3.60"))]
    header, rows_ = selectors.table("turnaround", wuwei)
    assert rows_[0] == ["2025-09", 4, Decimal("9.50"), Decimal("31.00")]


def test_turnaround_counts_window_claims_as_received_at_the_window(wuwei):
    """Hand-computed. August: a batch-paid claim settled 08-01 10:00, money 08-03 10:00 (2 days); at
    the window, settled 08-05 10:00 and called at once (0), called 12 hours later (0.5), and one the
    platform dated an hour after the call (0, never negative) → [0, 0, 0.5, 2]: p50 0.25, p90
    0.5 + 0.7 × 1.5 = 1.55. September: a window call at 09-01 01:00 Shanghai (08-31 in UTC) for a
    settlement of 08-31 23:00 → 2 hours, 0.08. A reversed window settlement, one that paid nothing
    and another program's window settlement count nothing."""
    from claims.models import PayoutBatch, PayoutItem, WindowSettlement

    plan = Plan.objects.get(version=wuwei, code="basic")
    holder = policy(wuwei, plan, "620602", 1981, "self")
    other_version = ProductVersion.objects.exclude(program=wuwei.program).first()
    outsider = policy(other_version, Plan.objects.filter(version=other_version).first(), "620602", 1982, "self")
    staff = make_resident(phone="13700000003", name=None, id_number=None).user

    def settled(holder_, at):
        c = claim(holder_, "100.00", "0.00", Claim.APPROVED)
        Settlement.objects.filter(pk=c.settlement_id).update(settled_at=at)
        return c

    def at_window(settled_at, called, *, holder_=holder, payout="100.00", reversed_=False):
        c = settled(holder_, settled_at)
        Settlement.objects.filter(pk=c.settlement_id).update(window=True)
        ws = WindowSettlement.objects.create(
            settlement_id=c.settlement_id, source=c.settlement.source, number=c.settlement.settlement_id,
            policy=holder_, hospital_code="H", hospital_name="医院", day=called.date(), own_part=Decimal("500.00"),
            payout=Decimal(payout), patient_pays=Decimal("500.00") - Decimal(payout), content_hash="x", answer={},
            reversed_at=called if reversed_ else None)
        WindowSettlement.objects.filter(pk=ws.pk).update(settled_at=called)

    batch = PayoutBatch.objects.create(number="PB-AUG", program=wuwei.program, status=PayoutBatch.RECONCILED,
                                       total=Decimal("100.00"), created_by=staff,
                                       reconciled_at=datetime(2025, 8, 3, 10, tzinfo=TZ))
    PayoutItem.objects.create(batch=batch, claim=settled(holder, datetime(2025, 8, 1, 10, tzinfo=TZ)),
                              amount=Decimal("100.00"), status="paid")
    at_window(datetime(2025, 8, 5, 10, tzinfo=TZ), datetime(2025, 8, 5, 10, tzinfo=TZ))
    at_window(datetime(2025, 8, 5, 10, tzinfo=TZ), datetime(2025, 8, 5, 22, tzinfo=TZ))
    at_window(datetime(2025, 8, 6, 12, tzinfo=TZ), datetime(2025, 8, 6, 11, tzinfo=TZ))
    at_window(datetime(2025, 8, 31, 23, tzinfo=TZ), datetime(2025, 9, 1, 1, tzinfo=TZ))
    at_window(datetime(2025, 8, 7, 10, tzinfo=TZ), datetime(2025, 8, 20, 10, tzinfo=TZ), reversed_=True)
    at_window(datetime(2025, 8, 7, 10, tzinfo=TZ), datetime(2025, 8, 20, 10, tzinfo=TZ), payout="0.00")
    at_window(datetime(2025, 8, 7, 10, tzinfo=TZ), datetime(2025, 8, 20, 10, tzinfo=TZ), holder_=outsider)

    figures = selectors.turnaround(wuwei.program)
    assert [(f"{t.month:%Y-%m}", t.claims, t.p50, t.p90) for t in figures] == [
        ("2025-09", 1, Decimal("0.08"), Decimal("0.08")), ("2025-08", 4, Decimal("0.25"), Decimal("1.55"))]
