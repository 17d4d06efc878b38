"""Renewal asks the registry again before charging: a person no longer eligible is not charged and the
payer is told why (SMS, 我的保单); registry facts are this year's; the relation is carried over."""

from __future__ import annotations

import pytest
from django.urls import reverse

from enrollment import renewal
from enrollment.models import Order, Policy, RenewalRefusal
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from portal.simulators.models import RosterEntry
from tests.factories import WEIHAI_ID, WEIHAI_SPOUSE_ID
from tests.functional.test_policies import next_weihai_version, opt_in, weihai_paid  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def roster_entry(number):
    from portal.crypto import blind_index

    return RosterEntry.objects.filter(id_hash=blind_index(number))


def test_a_spouse_whose_base_insurance_is_suspended_is_not_renewed_nor_charged(
        client, weihai_paid, django_capture_on_commit_callbacks):  # noqa: F811
    """The probe: she was renewed, charged 109.00 and made active."""
    opt_in(client, weihai_paid.policies.get(relation="spouse"))
    roster_entry(WEIHAI_SPOUSE_ID).update(status="suspended")
    version = next_weihai_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal.renewal_orders_create(version=version) == []
    assert not Policy.objects.filter(version=version).exists() and not Order.objects.filter(version=version).exists()
    refusal = RenewalRefusal.objects.get()
    # The payer is not the insured: he learns the category, not her registry status.
    assert refusal.code == "suspended" and refusal.message.startswith("不符合投保条件")
    sms = SmsMessage.objects.to(weihai_paid.resident.phone).get(template_id=template_id("renewal_refused"))
    assert "刘芳的" in sms.body and "不符合投保条件" in sms.body and "暂停" not in sms.body
    page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert "未能自动续保，未扣款：不符合投保条件" in page
    # The next daily run asks again but tells him once.
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal.renewal_orders_create(version=version) == []
    assert SmsMessage.objects.filter(template_id=template_id("renewal_refused")).count() == 1


def test_the_insured_payer_learns_the_detailed_reason(client, weihai_paid):  # noqa: F811
    opt_in(client, weihai_paid.policies.get(relation="self"))
    roster_entry(WEIHAI_ID).update(status="suspended")
    renewal.renewal_orders_create(version=next_weihai_version())
    assert "暂停参保" in RenewalRefusal.objects.get().message


def test_once_eligible_again_within_the_sales_window_the_renewal_goes_through(client, weihai_paid):  # noqa: F811
    opt_in(client, weihai_paid.policies.get(relation="spouse"))
    roster_entry(WEIHAI_SPOUSE_ID).update(status="suspended")
    version = next_weihai_version()
    renewal.renewal_orders_create(version=version)
    roster_entry(WEIHAI_SPOUSE_ID).update(status="in_force")
    assert len(renewal.renewal_orders_create(version=version)) == 1
    assert Policy.objects.get(version=version).status == Policy.ACTIVE
    assert "未能自动续保" not in client.get(reverse("enrollment:my_policies")).content.decode()


def test_the_relation_is_carried_over_and_medical_assistance_refreshed(client, weihai_paid):  # noqa: F811
    spouse = weihai_paid.policies.get(relation="spouse")
    assert spouse.medical_assistance is False
    opt_in(client, spouse)
    roster_entry(WEIHAI_SPOUSE_ID).update(medical_assistance=True)  # named a recipient since
    version = next_weihai_version()
    renewal.renewal_orders_create(version=version)
    renewed = Policy.objects.get(version=version)
    assert (renewed.relation, renewed.medical_assistance) == ("spouse", True)  # was "other" and False


def test_no_answer_from_the_registry_charges_nobody_that_day(client, weihai_paid, settings):  # noqa: F811
    opt_in(client, weihai_paid.policies.get(relation="spouse"))
    version = next_weihai_version()
    settings.HSA_SERVICE_URL = "http://127.0.0.1:1/callService"
    assert renewal.renewal_orders_create(version=version) == []
    assert not Order.objects.filter(version=version).exists() and not RenewalRefusal.objects.exists()
