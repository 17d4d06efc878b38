"""Celery tasks: thin, each calls a service."""

import pghistory
from celery import shared_task
from django.conf import settings

from claims import services

# A policy-year batch takes well under a second per hundred years; the hard limit bounds the
# broker's visibility timeout (settings: CELERY_BROKER_TRANSPORT_OPTIONS).
RECOMPUTE_LIMITS = {"soft_time_limit": 100, "time_limit": 120}


@shared_task(acks_late=True, reject_on_worker_lost=True, **RECOMPUTE_LIMITS)
def recompute_policy_years(policy_ids: list[int]) -> int:
    """Safe to run twice, concurrently or after a worker died mid-task: the service locks the
    policy years (in id order), recomputes them in one transaction and writes only differences."""
    with pghistory.context(action="recompute", reason="新结算单或冲正"):
        return services.policy_years_recompute(policy_ids=policy_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RECOMPUTE_LIMITS)
def recompute_policy_year(policy_id: int) -> int:
    """One policy year (messages enqueued before batches existed)."""
    return recompute_policy_years(policy_ids=[policy_id])


@shared_task
def sweep_policy_years() -> int:
    """Beat, every ``CLAIMS_SWEEP_SECONDS``: re-enqueue the policy years whose message was lost."""
    return services.policy_years_sweep(grace_seconds=settings.CLAIMS_SWEEP_GRACE_SECONDS)


@shared_task(acks_late=True)
def rematch_settlements(policy_ids: list[int] | None = None) -> int:
    """Settlements stored unmatched, matched to policies active now: for the given policies when
    they become active, or for all (daily)."""
    with pghistory.context(action="rematch", reason="保单生效后匹配此前收到的结算单"):
        return services.settlements_rematch(policy_ids=policy_ids)


@shared_task(acks_late=True)
def build_clearing_statements() -> int:
    """Beat, daily after midnight: yesterday's clearing statement of every hospital (idempotent)."""
    from datetime import timedelta

    from django.utils import timezone

    from claims.services.clearing import clearing_statements_build

    return len(clearing_statements_build(day=timezone.localdate() - timedelta(days=1)))
