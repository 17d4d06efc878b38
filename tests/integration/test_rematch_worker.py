"""Re-matching on real workers: confirming a group order's bank transfer enqueues the re-match of
the settlements that arrived before, and the policy year's computation after it."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from claims import services as claims
from claims.models import Claim, Settlement
from enrollment import billing
from tests.conftest import wait_for
from tests.factories import settlement_record, settlement_source, staff_user
from tests.integration.test_cover_dates import WORKER, group_order  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_paying_the_order_matches_and_computes_the_settlement_that_arrived_first(group_order, worker):  # noqa: F811
    source = settlement_source()
    stored = claims.settlement_receive(source=source, record=settlement_record(
        "S-EARLY", id_number=WORKER, admission="2025-07-02", settled="2025-07-04T10:00:00+08:00")).settlement
    assert stored.match_status == Settlement.UNMATCHED
    worker()
    with time_machine.travel("2025-07-06 10:00 +08:00", tick=True):
        billing.bank_transfer_confirm(order=group_order, reference="B-1", amount=group_order.amount,
                                      user=staff_user("finance", superuser=True), received_on=date(2025, 6, 30))
    wait_for(lambda: Claim.objects.filter(settlement=stored).exists(), what="the re-match and the computation")
    stored.refresh_from_db()
    assert stored.policy == group_order.policies.get()
    assert Claim.objects.get(settlement=stored).payout == Decimal("5400.00")
