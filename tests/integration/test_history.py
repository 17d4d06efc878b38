"""django-pghistory on policies, orders, payments, refunds, organizations and the fund ledger (issue
13): every insert and change leaves a row in the history tables."""

from __future__ import annotations

import pytest

from enrollment.models import CharityFund, FundEntry, Order, Organization, Payment, Policy, Refund
from tests.factories import SELF_ID, active_policy, make_resident, roster

pytestmark = pytest.mark.django_db


def history(model, pk) -> list:
    return list(model.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("pgh_id"))


@pytest.mark.parametrize("model", [Policy, Order, Payment, Refund, Organization, CharityFund, FundEntry])
def test_the_model_is_tracked(model):
    assert model.pgh_event_models


def test_a_purchase_leaves_the_history_of_its_order_policy_and_payment(products):
    roster(SELF_ID, "张桂兰")
    policy = active_policy(make_resident())
    order, payment = policy.order, policy.order.payments.get()
    assert history(Policy, policy.pk)[0].pgh_label == "insert"
    assert [e.status for e in history(Policy, policy.pk)][-1] == Policy.ACTIVE
    assert Order.PENDING in [e.status for e in history(Order, order.pk)]
    assert [e.status for e in history(Order, order.pk)][-1] == Order.PAID
    assert [e.status for e in history(Payment, payment.pk)][-1] == Payment.SUCCEEDED


def test_every_connection_takes_the_history_triggers_cheap_path():
    """The history triggers' ``pgtrigger.ignore`` read finds a value (an empty list), so it does not
    raise and recover on every tracked row (portal/apps.py)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pgtrigger.ignore', true)")
        assert cursor.fetchone()[0] == "{}"
