"""The purchase POST's work does not grow with the number of people (issue 18: registry lookups
batched, set-based writes): one registry request and a constant number of queries."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrollment.models import Consent, FamilyMember, Order, Policy
from tests.factories import CHILD_ID, MOTHER_ID, SELF_ID, make_id, roster
from tests.functional.test_purchase import (  # noqa: F401
    BUY_URL,
    IN_SALES_WINDOW,
    people_post,
    registry,
    resident,
    signed_in,
)

pytestmark = pytest.mark.django_db
FATHER_ID = make_id("62060219480202121")
SPOUSE_ID = make_id("62060219760606222")


def _post(client, *rows):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(BUY_URL, people_post(*rows))
    assert response.status_code == 302, response.content.decode()[:2000]
    return len(captured.captured_queries)


def test_buying_for_four_takes_the_queries_of_buying_for_one(signed_in, monkeypatch):  # noqa: F811
    from enrollment import registry as registry_adapter

    roster(FATHER_ID, "张父")
    roster(SPOUSE_ID, "王配偶")
    calls = []
    original = registry_adapter.lookup_many
    monkeypatch.setattr(registry_adapter, "lookup_many", lambda people: calls.append(len(people)) or original(people))
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        one = _post(signed_in, ("李秀英", MOTHER_ID, "parent"))
        four = _post(signed_in, ("张桂兰", SELF_ID, "self"), ("张父", FATHER_ID, "parent"),
                     ("张小宝", CHILD_ID, "child"), ("王配偶", SPOUSE_ID, "spouse"))
    assert one == four
    assert calls == [1, 4]  # one registry request per purchase
    assert Policy.objects.count() == 5 and Order.objects.count() == 2
    assert Consent.objects.count() == 10 and FamilyMember.objects.count() == 4
    assert one <= 20  # it was 30 for one person, 39 for two


def test_a_person_covered_meanwhile_refuses_the_whole_order_and_keeps_nothing(signed_in):  # noqa: F811
    from enrollment import services
    from enrollment.models import Plan, Resident

    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        plan = Plan.objects.select_related("version").get(version__slug="wuwei-2025", code="basic")
        resident = Resident.objects.get()
        checks = services.selectors.people_check(
            resident=resident, plan=plan, today=plan.version.sales_start,
            people=[services.PersonInput(name="张桂兰", id_number=SELF_ID, relation="self"),
                    services.PersonInput(name="李秀英", id_number=MOTHER_ID, relation="parent")])
        _post(signed_in, ("李秀英", MOTHER_ID, "parent"))  # covered between the check and the write
        from django.db import transaction

        with pytest.raises(services.PurchaseRefused) as refused, transaction.atomic():
            services._order_write(resident=resident, plan=plan, checks=checks, ip_address=None, people=[
                services.PersonInput(name="张桂兰", id_number=SELF_ID, relation="self"),
                services.PersonInput(name="李秀英", id_number=MOTHER_ID, relation="parent")])
    assert refused.value.errors["people-1-id_number"][0][0] == "already_covered"
    assert Policy.objects.count() == 1 and Order.objects.count() == 1 and Consent.objects.count() == 2
