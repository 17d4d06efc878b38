"""Payees (issue 15): four-factor bank-card verification through the identity adapter (Tencent faceid
``BankCard4EVerification`` over real HTTP to the simulator), the card kept encrypted and masked, and
a claim without a verified payee waiting until one is verified, then paid in the next batch."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from claims import services
from claims.models import Claim, Payee, PayeeCheck, PayoutItem
from claims.services import payees
from portal.integrations import identity
from portal.integrations.identity.simulator.models import Outage
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import (
    CHILD_ID,
    SELF_ID,
    UNINSURED_ID,
    active_policy,
    bank_card,
    card_number,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
)

pytestmark = pytest.mark.django_db
CARD = card_number("621700001000")
OTHER_CARD = card_number("622200002000")
CHILD_CARD = card_number("623000003000")


@pytest.fixture
def resident(products):
    roster(SELF_ID, "张桂兰")
    roster(CHILD_ID, "张小宝")
    resident = make_resident()
    bank_card(CARD, SELF_ID, "张桂兰", "13800000001")
    bank_card(OTHER_CARD, SELF_ID, "张桂兰", "13800000001", status="-13")  # reported lost
    bank_card(CHILD_CARD, CHILD_ID, "张小宝", "13800000001")
    return resident


def test_four_factor_outcomes_through_the_adapter(resident):
    match = identity.verify_bank_card(name="张桂兰", id_number=SELF_ID, card_number=CARD, phone="13800000001")
    assert (match.outcome, match.result) == ("match", "0") and match.request_id
    wrong_phone = identity.verify_bank_card(name="张桂兰", id_number=SELF_ID, card_number=CARD, phone="13800000009")
    assert (wrong_phone.outcome, wrong_phone.result) == ("mismatch", "-1")
    assert identity.verify_bank_card(name="李四", id_number=UNINSURED_ID, card_number=CARD,
                                     phone="13800000001").outcome == "mismatch"
    lost = identity.verify_bank_card(name="张桂兰", id_number=SELF_ID, card_number=OTHER_CARD, phone="13800000001")
    assert (lost.outcome, lost.description) == ("mismatch", "此卡已挂失")
    unknown = card_number("628800009000")
    assert identity.verify_bank_card(name="张桂兰", id_number=SELF_ID, card_number=unknown,
                                     phone="13800000001").outcome == "no_record"
    assert identity.verify_bank_card(name="张桂兰", id_number=SELF_ID, card_number="12ab",
                                     phone="13800000001").outcome == "invalid"
    Outage.objects.create(action="BankCard4EVerification")
    down = identity.verify_bank_card(name="张桂兰", id_number=SELF_ID, card_number=CARD, phone="13800000001")
    assert (down.outcome, down.result) == ("unavailable", "-18")
    assert identity.verify_id_card(name="张桂兰", id_number=SELF_ID).outcome == "match"  # only that check is down


def test_a_matching_card_is_kept_encrypted_and_masked(resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payee = payees.payee_register(resident=resident, person_id=resident.person_id, kind=Payee.BANK_CARD,
                                      card_number=" ".join(CARD[i:i + 4] for i in range(0, 19, 4)),
                                      phone="13800000001")
    assert payee.card_masked == f"{CARD[:4]} **** **** {CARD[-4:]}" and payee.holder == Payee.SELF
    stored = Payee.objects.filter(pk=payee.pk).values().get()
    assert CARD not in str(stored) and payee.card_number == CARD
    assert PayeeCheck.objects.get().outcome == "match"
    sms = SmsMessage.objects.get(template_id=template_id("payee_verified"))
    assert CARD[-4:] in sms.body and CARD not in sms.body


@pytest.mark.parametrize(("card", "phone", "outage", "code", "field"), [
    (CARD, "13800000009", False, "mismatch", "card_number"),
    (OTHER_CARD, "13800000001", False, "mismatch", "card_number"),
    (card_number("628800009000"), "13800000001", False, "no_record", "card_number"),
    (CARD, "13800000001", True, "unavailable", ""),
    (CARD[:-1] + str((int(CARD[-1]) + 1) % 10), "13800000001", False, "card_number", "card_number"),
    (CARD, "1380000", False, "phone", "phone"),
])
def test_a_refused_card_changes_nothing(resident, card, phone, outage, code, field):
    if outage:
        Outage.objects.create(action="BankCard4EVerification")
    with pytest.raises(payees.PayeeRefused) as refused:
        payees.payee_register(resident=resident, person_id=resident.person_id, kind=Payee.BANK_CARD,
                              card_number=card, phone=phone)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Payee.objects.exists()


def test_a_minors_payee_is_the_guardians_own_card(resident):
    active_policy(resident, ("张小宝", CHILD_ID, "child"))
    child = next(person for person, holder in payees.payee_people(resident) if holder == Payee.GUARDIAN)
    with pytest.raises(payees.PayeeRefused) as childs_card:  # the card must be the guardian's, not the child's
        payees.payee_register(resident=resident, person_id=child.pk, kind=Payee.BANK_CARD, card_number=CHILD_CARD,
                              phone="13800000001")
    assert childs_card.value.code == "mismatch"
    payee = payees.payee_register(resident=resident, person_id=child.pk, kind=Payee.SOCIAL_SECURITY,
                                  card_number=CARD, phone="13800000001")
    assert (payee.person, payee.holder, payee.holder_name) == (child, Payee.GUARDIAN, "张桂兰")
    with pytest.raises(payees.PayeeRefused) as other_person:
        payees.payee_register(resident=resident, person_id=child.pk + 999, kind=Payee.BANK_CARD, card_number=CARD,
                              phone="13800000001")
    assert other_person.value.code == "person"


def test_a_new_card_replaces_the_last(resident):
    first = payees.payee_register(resident=resident, person_id=resident.person_id, kind=Payee.BANK_CARD,
                                  card_number=CARD, phone="13800000001")
    second = payees.payee_register(resident=resident, person_id=resident.person_id, kind=Payee.SOCIAL_SECURITY,
                                   card_number=CARD, phone="13800000001")
    first.refresh_from_db()
    assert first.replaced_at is not None and second.replaced_at is None
    assert payees.current_payees([resident.person_id]) == {resident.person_id: second}


def test_a_claim_without_a_payee_waits_and_is_paid_once_one_is_verified(
        resident, django_capture_on_commit_callbacks):
    policy = active_policy(resident)
    approver = staff_user("approver", "理赔复核人")
    with django_capture_on_commit_callbacks(execute=True):
        services.settlement_receive(source=settlement_source(), record=settlement_record("S1"))
        services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get()
    assert claim.state == Claim.APPROVED and claim.payable == Decimal("5400.00")
    asked = SmsMessage.objects.get(template_id=template_id("payout_payee_needed"))
    assert "5400.00" in asked.body and "登记" in asked.body
    assert not SmsMessage.objects.filter(template_id=template_id("payout_approved")).exists()

    with pytest.raises(services.ReviewRefused) as waiting:
        services.payout_batch_create(program=policy.version.program, user=approver)
    assert waiting.value.code == "nothing_to_pay" and "1笔待居民登记收款账户" in waiting.value.message
    assert not PayoutItem.objects.exists()

    payee = payees.payee_register(resident=resident, person_id=resident.person_id, kind=Payee.BANK_CARD,
                                  card_number=CARD, phone="13800000001")
    batch = services.payout_batch_create(program=policy.version.program, user=approver)
    item = batch.items.get()
    assert (item.claim, item.amount, item.payee) == (claim, Decimal("5400.00"), payee)

    from claims import selectors

    shown = selectors.payout_rows(batch)[0]
    assert shown[-3:] == ["张桂兰", "银行卡", payee.card_masked]
    exported = list(csv.reader(io.StringIO(selectors.payout_csv(batch).decode("utf-8-sig"))))
    assert exported[1][-1].lstrip("'") == CARD  # the insurer pays from the file

    services.payout_batch_reconcile(batch_id=batch.pk, user=approver)
    claim.refresh_from_db()
    assert (claim.state, claim.paid_amount) == (Claim.PAID, Decimal("5400.00"))
