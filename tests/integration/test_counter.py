"""Counter-assisted enrollment: a resident without a smartphone is enrolled at a service point, paid in
cash or by card against the cashier shift, the signed consent scanned and kept encrypted; the
resident later finds the policy under his own account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enrollment import counter, selectors
from enrollment.models import CounterEnrollment, Order, Plan, Policy, Program, ServicePoint
from enrollment.organizations import Refused
from tests.documents import PDF
from tests.factories import MOTHER_ID, SELF_ID, UNINSURED_ID, login_as, make_resident, roster, staff_user

pytestmark = pytest.mark.django_db

IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        yield


@pytest.fixture
def desk(products):
    staff = staff_user("counter", "柜面经办")
    point = ServicePoint.objects.create(program=Program.objects.get(code="wuwei"), name="凉州区服务网点")
    return staff, counter.shift_open(staff=staff, service_point=point)


def scan(content=PDF, name="授权书.pdf"):
    return SimpleUploadedFile(name, content, "application/pdf")


def enroll(desk, **changes):
    staff, shift = desk
    values = dict(shift=shift, staff=staff, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                  name="张桂兰", id_number=SELF_ID, phone="", id_card_checked=True, consent_scan=scan(),
                  method="counter_cash")
    values.update(changes)
    return counter.enroll(**values)


def test_a_cash_enrollment_makes_a_paid_policy_recorded_against_the_shift(desk):
    roster(SELF_ID, "张桂兰")
    order = enroll(desk)
    policy = order.policies.get()
    assert (order.status, order.channel, order.method, order.amount) == (Order.PAID, "counter", "counter_cash",
                                                                         Decimal("69.00"))
    assert (policy.status, policy.coverage_start) == (Policy.ACTIVE, date(2025, 7, 1))
    assert policy.consents.count() == 2
    record = order.counter
    assert record.shift == desk[1] and record.staff == desk[0] and record.id_card_checked
    assert counter.consent_scan(record) == PDF
    with record.consent_scan.open("rb") as stored:
        assert b"%PDF" not in stored.read()  # encrypted at rest
    assert counter.shift_totals(desk[1]) == {"cash": Decimal("69.00"), "card": Decimal("0.00"), "count": 1}


def test_the_resident_later_finds_the_policy_under_his_own_account(desk):
    roster(SELF_ID, "张桂兰")
    order = enroll(desk, phone="13800000001")
    resident = make_resident(phone="13800000001")  # signs in and binds his real name later
    assert [p.pk for p in selectors.resident_policies(resident)] == [order.policies.get().pk]


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"id_card_checked": False}, "id_card_checked", "id_card_unchecked"),
    ({"consent_scan": None}, "consent_scan", "consent_scan_required"),
    ({"consent_scan": scan(b"GIF89a....", "a.gif")}, "consent_scan", "consent_scan_invalid"),
    ({"method": "counter_card"}, "card_reference", "card_reference_required"),
    ({"id_number": UNINSURED_ID, "name": "无医保"}, "registry", "not_insured"),
    ({"name": "李四"}, "registry", "name_mismatch"),
])
def test_a_refused_enrollment_says_why_and_takes_no_money(desk, changes, field, code):
    roster(SELF_ID, "张桂兰")
    with pytest.raises(Refused) as refused:
        enroll(desk, **changes)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert not Order.objects.exists() and not CounterEnrollment.objects.exists()


def test_a_card_payment_is_recorded_once_per_reference(desk):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    enroll(desk, method="counter_card", card_reference="POS123456")
    with pytest.raises(Refused) as again:
        enroll(desk, name="李秀英", id_number=MOTHER_ID, method="counter_card", card_reference="POS123456")
    assert again.value.code == "card_reference_used" and Order.objects.count() == 1


def test_someone_covered_already_is_not_charged_twice(desk):
    roster(SELF_ID, "张桂兰")
    enroll(desk)
    with pytest.raises(Refused) as again:
        enroll(desk)
    assert again.value.code == "already_covered" and Order.objects.count() == 1


def test_no_enrollment_without_an_open_shift_and_closing_states_the_cash(desk):
    staff, shift = desk
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    enroll(desk)
    enroll(desk, name="李秀英", id_number=MOTHER_ID, method="counter_card", card_reference="POS000001")
    with pytest.raises(Refused) as unexplained:
        counter.shift_close(shift=shift, staff=staff, cash_counted=Decimal("60.00"))
    assert unexplained.value.code == "difference_unexplained"
    closed = counter.shift_close(shift=shift, staff=staff, cash_counted=Decimal("60.00"), note="找零差错，已报告")
    assert (closed.cash_expected, closed.cash_counted, closed.card_total, closed.difference) == (
        Decimal("69.00"), Decimal("60.00"), Decimal("69.00"), Decimal("-9.00"))
    with pytest.raises(Refused) as closed_shift:
        enroll((staff, closed))
    assert closed_shift.value.code == "no_open_shift"


def test_only_counter_staff_reach_the_counter_and_the_print_page(client, desk):
    roster(SELF_ID, "张桂兰")
    order = enroll(desk)
    url = reverse("enrollment:counter_enrollment", args=[order.number])
    login_as(client, desk[0])
    page = client.get(url).content.decode()
    assert order.policies.get().number in page and "620602********" + SELF_ID[-4:] in page and SELF_ID not in page
    assert client.get(reverse("enrollment:counter_policy_pdf", args=[order.number])).content.startswith(b"%PDF")
    login_as(client, staff_user("reviewer", "理赔审核员"))
    assert client.get(url).status_code == 403
    # Counter staff of another service point do not read this one's enrollments.
    other = staff_user("counter2", "柜面经办")
    counter.shift_open(staff=other, service_point=ServicePoint.objects.create(
        program=Program.objects.get(code="wuwei"), name="民勤县服务网点"))
    login_as(client, other)
    assert client.get(url).status_code == 404


def test_the_enroll_form_refuses_with_the_field_named(client, desk):
    roster(SELF_ID, "张桂兰")
    login_as(client, desk[0])
    response = client.post(reverse("enrollment:counter_enroll"), {
        "plan": Plan.objects.get(version__slug="wuwei-2025", code="basic").pk, "name": "张桂兰", "id_number": SELF_ID,
        "method": "counter_cash", "consent_scan": scan()})
    assert response.status_code == 422
    assert 'data-field="id_card_checked"' in response.content.decode() and not Order.objects.exists()
