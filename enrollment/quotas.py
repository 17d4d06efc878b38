"""Counters in Redis (Django's cache) for rate limits and daily caps.

``take(...)`` counts an amount against one or more quotas at once, or none of them: each counter
is incremented first and given back when it went over, so simultaneous requests cannot exceed a
quota. Daily quotas are per calendar day in Asia/Shanghai (the message says "明日再试").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

DAY = 26 * 3600  # a day's counter outlives the day a little, whatever the clock


@dataclass(frozen=True)
class Quota:
    key: str
    maximum: int
    window: int  # seconds the counter lives from its first use


def daily(name: str, subject, maximum: int) -> Quota:
    return Quota(f"quota:{name}:{subject}:{timezone.localdate():%Y%m%d}", maximum, DAY)


def rolling(name: str, subject, maximum: int, window: int) -> Quota:
    return Quota(f"quota:{name}:{subject}", maximum, window)


def used(quota: Quota) -> int:
    return int(cache.get(quota.key) or 0)


def full(quota: Quota, amount: int = 1) -> bool:
    return used(quota) + amount > quota.maximum


def take(*quotas: Quota, amount: int = 1) -> Quota | None:
    """Count ``amount`` against every quota, or against none: returns the first quota that would
    go over (nothing counted), or None when all were counted."""
    taken: list[Quota] = []
    for quota in quotas:
        cache.add(quota.key, 0, timeout=quota.window)
        try:
            value = cache.incr(quota.key, amount)
        except ValueError:  # expired between add and incr
            cache.set(quota.key, amount, timeout=quota.window)
            value = amount
        taken.append(quota)
        if value > quota.maximum:
            for counted in taken:
                give_back(counted, amount)
            return quota
    return None


def give_back(quota: Quota, amount: int = 1) -> None:
    try:
        cache.decr(quota.key, amount)
    except ValueError:
        pass
