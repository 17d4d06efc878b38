"""A policy's own cover dates, and what happens when policies become active.

A policy's cover never starts before it is paid for: its own ``coverage_start`` is the later of
the version's coverage start and the payment day plus the program's ``cover_start_delay_days``
(1 by default: 次日零时起保). It ends with the version. The start is set provisionally when the
policy is written (as if paid that day) and fixed when it is paid — by the provider's
notification, a confirmed bank transfer, a fund allocation or a counter payment — so a late buyer,
a late bank transfer or a late allocation is never covered retroactively.

``policies_activated`` is the one step every channel calls once its policies are active: the
settlements that arrived before (stored unmatched) are matched now (claims re-matching, on commit).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

# What a resident reads about a policy (我的保单, the e-policy), by state and today's date.
PENDING_PAYMENT, NOT_STARTED, IN_FORCE, ENDED, CANCELLED, LAPSED = (
    "待支付", "待生效", "保障中", "已到期", "已退保", "未支付已失效")


def start_for(*, version, paid_on: date) -> date:
    """The cover start of a policy under ``version`` paid on ``paid_on``."""
    delay = version.program.cover_start_delay_days
    return max(version.coverage_start, paid_on + timedelta(days=delay))


def state_label(policy, today: date | None = None) -> str:
    """待支付 / 待生效 (paid, cover not yet started) / 保障中 / 已到期 / 已退保 / 未支付已失效."""
    today = today or timezone.localdate()
    if policy.status == "pending":
        return PENDING_PAYMENT
    if policy.status == "cancelled":
        return CANCELLED
    if policy.status == "expired":
        return LAPSED
    if today < policy.coverage_start:
        return NOT_STARTED
    if today > policy.coverage_end:
        return ENDED
    return IN_FORCE


def policies_activated(*, policy_ids: list[int]) -> None:
    """Policies just became active: on commit, match the settlements stored unmatched for their
    people and periods (and compute them)."""
    if not policy_ids:
        return
    from claims import tasks

    ids = sorted(policy_ids)
    transaction.on_commit(lambda: tasks.rematch_settlements.delay(ids))
