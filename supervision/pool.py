"""The surplus pool (结余资金池): writes. Each program keeps one pool per assessment cycle
(``Program.cycle_years`` counted from its first published year, as the dashboard counts cycles).

- ``year_close``: after a version's cover has ended, its surplus (premiums − claims − operating
  costs, the dashboard's figures at that moment; nothing when negative) enters the pool of the
  cycle holding the next year — Wuwei: 结余部分结转资金池，用于下一年度给付. Once per version (a
  partial unique constraint), the figures kept on the entry.
- ``pool_use``: money drawn from the pool for a year's payouts, recorded against the pool of the
  cycle holding that year, never more than the balance (row lock; a check keeps it ≥ 0).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment.models import ProductVersion, Program
from supervision import selectors
from supervision.models import PoolEntry, SurplusPool
from supervision.services import Refused


def pool_for(*, program: Program, year: int) -> SurplusPool:
    """The pool of the cycle holding ``year`` (made when first needed)."""
    start = selectors.cycle_start(program, year)
    pool, _ = SurplusPool.objects.get_or_create(program=program, cycle_start=start,
                                                defaults={"cycle_years": program.cycle_years})
    return pool


def year_close(*, version: ProductVersion, user) -> PoolEntry:
    if not version.is_published:
        raise Refused("version", "not_published", "只能对已发布的产品版本做年度结算。")
    if timezone.localdate() <= version.coverage_end:
        raise Refused("version", "cover_not_ended",
                      f"{version.name}的保障期至{version.coverage_end:%Y年%-m月%-d日}，结束后才能结转结余。")
    program = version.program
    figure = selectors.version_money(version)
    surplus = figure.surplus
    pool = pool_for(program=program, year=version.year + 1)
    try:
        with transaction.atomic():
            locked = SurplusPool.objects.select_for_update().get(pk=pool.pk)
            locked.balance += surplus
            locked.save(update_fields=["balance"])
            return PoolEntry.objects.create(
                pool=locked, kind=PoolEntry.SURPLUS, version=version, amount=surplus, balance_after=locked.balance,
                premiums=figure.premiums, claims=figure.claims, operating=figure.operating,
                note=f"{version.year}年度结余转入", created_by=user)
    except IntegrityError:
        raise Refused("version", "already_closed", f"{version.name}已结转过结余，不能重复结转。") from None


def pool_use(*, pool: SurplusPool, version: ProductVersion, amount, note: str, user) -> PoolEntry:
    try:
        amount = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise Refused("amount", "amount_invalid", "请填写金额（元），例如 10000.00。") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise Refused("amount", "amount_invalid", "金额应大于0，最多两位小数。")
    if version.program_id != pool.program_id or selectors.cycle_start(pool.program, version.year) != pool.cycle_start:
        raise Refused("version", "version_not_in_cycle", "所选年度不在该资金池的考核周期内。")
    if not note.strip():
        raise Refused("note", "note_required", "请填写使用说明（如：补充给付××年度理赔）。")
    with transaction.atomic():
        locked = SurplusPool.objects.select_for_update().get(pk=pool.pk)
        if locked.balance < amount:
            raise Refused("amount", "pool_insufficient", f"资金池余额{locked.balance}元，不足{amount}元。")
        locked.balance -= amount
        locked.save(update_fields=["balance"])
        return PoolEntry.objects.create(pool=locked, kind=PoolEntry.USE, version=version, amount=-amount,
                                        balance_after=locked.balance, note=note.strip(), created_by=user)
