"""``{{ amount|yuan }}``: an amount as people read it (portal/money.py). A built-in of every template."""

from django import template

from portal.money import yuan as _yuan

register = template.Library()


@register.filter
def yuan(amount) -> str:
    return _yuan(amount)
