"""Celery tasks: thin, each calls a service."""

import pghistory
from celery import shared_task

from claims import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recompute_policy_year(policy_id: int) -> int:
    """Safe to run twice, concurrently or after a worker died mid-task: the service locks the
    policy year, recomputes it in one transaction and writes only differences."""
    with pghistory.context(action="recompute", reason="新结算单或冲正"):
        return services.policy_year_recompute(policy_id=policy_id)
