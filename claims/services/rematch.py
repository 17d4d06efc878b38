"""Re-matching: settlements that arrived before their policy was active (a group order paid later
by bank transfer, a fund allocation made after the stay) are stored unmatched; once an active
policy of the source's program covers the person on the admission date, they are matched to it
and its policy year is recomputed.

``settlements_rematch(policy_ids=...)`` runs when policies become active
(``enrollment.cover.policies_activated``); ``settlements_rematch()`` with no ids is the daily job
that takes any left (``claims.tasks.rematch_settlements``, beat).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import OuterRef, Subquery

from claims.models import Settlement
from claims.services.recompute import policy_years_enqueue
from enrollment.models import Policy

logger = logging.getLogger(__name__)


def settlements_rematch(*, policy_ids: list[int] | None = None) -> int:
    """Match what can be matched now; returns how many settlements were matched."""
    covering = Policy.objects.filter(
        person__id_hash=OuterRef("id_hash"),
        version__program_id=OuterRef("source__program_id"),
        status=Policy.ACTIVE,
        coverage_start__lte=OuterRef("admission_date"),
        coverage_end__gte=OuterRef("admission_date"),
    ).order_by("-coverage_start")
    waiting = Settlement.objects.filter(match_status=Settlement.UNMATCHED, reversed_at__isnull=True)
    if policy_ids is not None:
        hashes = Policy.objects.filter(pk__in=policy_ids).values("person__id_hash")
        waiting = waiting.filter(id_hash__in=hashes)
    found = list(waiting.annotate(found=Subquery(covering.values("pk")[:1])).filter(found__isnull=False)
                 .values_list("pk", "found"))
    if not found:
        return 0
    matched, years = 0, set()
    with transaction.atomic():
        for settlement_id, policy_id in found:
            # Conditional: a concurrent run (the activation's and the daily one) matches it once.
            if Settlement.objects.filter(pk=settlement_id, match_status=Settlement.UNMATCHED).update(
                    policy_id=policy_id, match_status=Settlement.MATCHED, unmatched_reason=""):
                matched += 1
                years.add(policy_id)
        ids = sorted(years)
        transaction.on_commit(lambda: policy_years_enqueue(ids))
    logger.info("re-matched %d settlements to %d policies", matched, len(years))
    return matched
