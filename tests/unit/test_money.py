"""Amounts as people read them (portal/money.py)."""

from decimal import Decimal

import pytest

from portal.money import yuan


@pytest.mark.parametrize(("amount", "shown"), [
    (Decimal("500000.00"), "50万元"),
    (Decimal("1000000.00"), "100万元"),
    (Decimal("12000.00"), "12,000.00 元"),
    (Decimal("55200.00"), "55,200.00 元"),
    (Decimal("69.00"), "69.00 元"),
    (Decimal("0"), "0.00 元"),
    (Decimal("-1800.00"), "-1,800.00 元"),
    (Decimal("1234567.8"), "1,234,567.80 元"),
    (None, ""),
])
def test_amounts_read_in_yuan_with_separators_and_wan_for_round_figures(amount, shown):
    assert yuan(amount) == shown
