"""Splitting an amount between co-insurers by their shares so the parts add up exactly.

Pure: no Django. Each part is first rounded down to the cent; the cents left over go, one each, to
the parts with the largest remainders (ties: the earlier part, e.g. the lead insurer listed first).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")


def split(total: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """``total`` (two places, may be negative) split by ``shares`` (summing to 1)."""
    if not shares:
        return []
    if sum(shares) != 1:
        raise ValueError("shares must add up to exactly 1")
    sign = -1 if total < 0 else 1
    magnitude = abs(total).quantize(CENT)
    exact = [magnitude * share for share in shares]
    parts = [value.quantize(CENT, rounding=ROUND_DOWN) for value in exact]
    left = int((magnitude - sum(parts)) / CENT)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += CENT
    return [sign * part for part in parts]
