"""Amounts as people read them: in 元, with thousands separators, round ten-thousands in 万.

``yuan(Decimal("500000.00"))`` → ``50万元``; ``yuan(Decimal("12000"))`` → ``12,000.00 元``;
``yuan(Decimal("69"))`` → ``69.00 元``. The one place money is formatted for people (the template
filter ``yuan`` in ``portal/templatetags/money.py`` is a built-in of every template); exports and
machine formats keep plain ``Decimal`` strings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

TEN_THOUSAND = Decimal(10000)


def yuan(amount) -> str:
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    if value and value % TEN_THOUSAND == 0:
        return f"{value / TEN_THOUSAND:,.0f}万元"
    return f"{value:,.2f} 元"
