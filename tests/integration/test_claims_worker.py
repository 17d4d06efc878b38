"""The claim task on real Celery workers on Redis and PostgreSQL (never eager mode): redelivery,
concurrency and a worker killed mid-task all end with the serial result, paid once."""

import os
import signal
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from claims import services
from claims.models import Claim, ClaimLine, PolicyYear
from claims.tasks import recompute_policy_year
from tests.conftest import wait_for
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
ROOT = Path(__file__).resolve().parents[2]


def queue_empty() -> bool:
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    return client.llen("celery") == 0


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    return active_policy(make_resident())


RECORDS = [
    settlement_record("S1"),
    settlement_record("S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01"),
    settlement_record("S3", settled="2025-12-01T09:00:00+08:00", admission="2025-11-20", in_catalog_self_pay="8000.00"),
]


def serial_payouts(policy):
    """What one run, alone, gives (the engine through the same service, on a copy of the inputs)."""
    from dataclasses import replace

    from claims.rules.engine import adjudicate_year
    from claims.rules.records import parse_settlement
    from enrollment import selectors

    plan = selectors.plan_with_config(product=policy.plan.version.slug, plan=policy.plan.code)
    result = adjudicate_year(selectors.benefit_config(plan), services._facts(policy),
                             [replace(parse_settlement(r)) for r in RECORDS])
    return {r.settlement_id: r.payout for r in result.results}


def test_accepting_a_settlement_enqueues_the_task_and_a_worker_computes_it(policy, worker):
    source = settlement_source()
    worker()
    services.settlement_receive(source=source, record=RECORDS[0])  # commits, then enqueues on commit
    wait_for(lambda: Claim.objects.filter(state=Claim.APPROVED).exists())
    assert Claim.objects.get().payout == Decimal("5400.00")


def test_many_deliveries_on_two_workers_give_the_serial_result_once(policy, worker):
    source = settlement_source()
    for record in RECORDS:
        services.settlement_receive(source=source, record=record)  # three tasks enqueued on commit
    for _ in range(12):
        recompute_policy_year.delay(policy.pk)  # redeliveries, duplicates
    worker(concurrency=3)
    worker(concurrency=3)
    wait_for(lambda: queue_empty() and Claim.objects.filter(state__in=[Claim.APPROVED, Claim.PENDING_REVIEW]).count()
             == 3, timeout=180, what="the queue to drain")  # six pool processes start on a loaded machine
    time.sleep(1.5)  # anything still running finishes
    payouts = {c.settlement.settlement_id: c.payout for c in Claim.objects.select_related("settlement")}
    assert payouts == serial_payouts(policy)
    assert ClaimLine.objects.count() == 3  # one line each: nothing paid twice
    assert services.policy_year_recompute(policy_id=policy.pk) == 0  # and nothing left to write


def test_a_worker_killed_mid_task_is_redelivered_and_pays_once(policy, worker):
    source = settlement_source()
    services.settlement_receive(source=source, record=RECORDS[0])
    PolicyYear.objects.get_or_create(policy=policy)
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_year():
        with transaction.atomic():
            PolicyYear.objects.select_for_update().get(policy=policy)
            holder_ready.set()
            release.wait(90)
        connections.close_all()

    holder = threading.Thread(target=hold_the_year)
    holder.start()
    holder_ready.wait(10)
    main = worker(concurrency=1)

    def blocked_backend():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                           [connection.settings_dict["NAME"]])
            return cursor.fetchone()[0] > 0

    wait_for(blocked_backend, what="the task to wait on the policy year's lock")
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(main.pid)], capture_output=True, text=True).stdout.split()
    assert children, "the worker's pool process"
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)  # the worker dies in the middle of the task
    time.sleep(1)
    release.set()
    holder.join()
    wait_for(lambda: Claim.objects.filter(state=Claim.APPROVED).exists(), what="the redelivered task")
    time.sleep(1)
    assert Claim.objects.get().payout == Decimal("5400.00")
    assert ClaimLine.objects.count() == 1 and PolicyYear.objects.get(policy=policy).revision == 1


SWEEP_SECONDS = 3


def test_a_worker_whose_main_process_is_killed_loses_nothing(policy, worker):
    """Issue 18: kill -9 of the worker's main process mid-recompute left the message in Redis's
    unacked set until the visibility timeout (an hour), the claims uncomputed. The sweeper finds
    the policy year behind its settlements and enqueues it again."""
    source = settlement_source()
    PolicyYear.objects.get_or_create(policy=policy)
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_year():
        with transaction.atomic():
            PolicyYear.objects.select_for_update().get(policy=policy)
            holder_ready.set()
            release.wait(90)
        connections.close_all()

    holder = threading.Thread(target=hold_the_year)
    holder.start()
    holder_ready.wait(10)
    first = worker(concurrency=1)
    for record in RECORDS:
        services.settlement_receive(source=source, record=record)

    def blocked_backend():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                           [connection.settings_dict["NAME"]])
            return cursor.fetchone()[0] > 0

    wait_for(blocked_backend, what="the task to wait on the policy year's lock")
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(first.pid)], capture_output=True, text=True).stdout.split()
    os.kill(first.pid, signal.SIGKILL)  # the main process first: it can no longer requeue anything
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)  # and its pool with it, as when the machine's container goes
    first.wait(10)
    release.set()
    holder.join()
    assert not Claim.objects.exists()

    restarted = time.monotonic()
    worker(concurrency=1, beat=True, CLAIMS_SWEEP_SECONDS=str(SWEEP_SECONDS), CLAIMS_SWEEP_GRACE_SECONDS="1")
    wait_for(lambda: Claim.objects.count() == 3 and not Claim.objects.filter(state=Claim.RECEIVED).exists(),
             timeout=30 + 2 * SWEEP_SECONDS, what="the sweeper to bring the lost work back")
    assert time.monotonic() - restarted < 30 + 2 * SWEEP_SECONDS
    time.sleep(1)
    payouts = {c.settlement.settlement_id: c.payout for c in Claim.objects.select_related("settlement")}
    assert payouts == serial_payouts(policy)
    assert ClaimLine.objects.count() == 3


def test_the_sweeper_finds_settlements_without_a_claim_and_years_behind(policy):
    """Both kinds of lost work, and nothing else: a settlement with no claim, and a year last
    recomputed before a reversal; fresh changes are left to their own messages."""
    from datetime import timedelta

    from django.utils import timezone

    from claims.selectors import policy_years_behind

    source = settlement_source()
    with transaction.atomic():  # received, but its message is lost (the task never runs)
        services.settlement_receive(source=source, record=RECORDS[0])
        transaction.get_connection().run_on_commit.clear()
    later = timezone.now() + timedelta(seconds=1)
    assert policy_years_behind(settled_before=later, limit=10) == [policy.pk]
    assert policy_years_behind(settled_before=later - timedelta(minutes=5), limit=10) == []  # too fresh
    services.policy_year_recompute(policy_id=policy.pk)
    assert policy_years_behind(settled_before=timezone.now(), limit=10) == []

    from claims.models import Settlement

    Settlement.objects.update(reversed_at=timezone.now())  # reversed, the year not recomputed since
    assert policy_years_behind(settled_before=timezone.now() + timedelta(seconds=1), limit=10) == [policy.pk]
    services.policy_year_recompute(policy_id=policy.pk)
    assert policy_years_behind(settled_before=timezone.now() + timedelta(seconds=1), limit=10) == []


def test_the_sweep_waits_while_the_queue_holds_a_backlog(policy, settings):
    from claims.tasks import sweep_policy_years

    source = settlement_source()
    with transaction.atomic():
        services.settlement_receive(source=source, record=RECORDS[0])
        transaction.get_connection().run_on_commit.clear()
    settings.CLAIMS_SWEEP_MAX_BACKLOG = 2
    for _ in range(3):
        recompute_policy_year.delay(policy.pk)
    assert services.policy_years_sweep(grace_seconds=-5) == 0
    from django.core.cache import cache

    cache._cache.get_client(write=True).delete("celery")
    assert sweep_policy_years.run() == 0  # the default grace: too fresh
    assert services.policy_years_sweep(grace_seconds=-5) == 1


@pytest.fixture(autouse=True)
def _postgres_only():
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
