"""Payees: the verified account each insured person's claims are paid to (issue 15).

A resident registers his own bank card or 社保卡 financial account; for a minor he bought for as
guardian, the guardian's own card. The card is verified by the four-factor bank-card check of the
identity-verification adapter (``portal.integrations.identity.verify_bank_card``: the holder's name
and ID number as bound to the account, the card number, the mobile reserved at the bank) before it
is kept; only a match is kept. The call is made outside any transaction, then the payee is written
under the person's lock and replaces the last one. Approved claims with money to pay wait for a
payee (``claims.services.payouts``) and join the next batch once one is verified.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction
from django.utils import timezone
from stdnum import luhn

from claims.models import Payee, PayeeCheck
from enrollment.models import Person, Resident
from enrollment.quotas import daily, take
from portal import crypto, sms
from portal.integrations import identity

logger = logging.getLogger(__name__)

CHECKS_PER_DAY = 5  # four-factor checks a resident may ask for a day (each is billed by Tencent)
CARD = re.compile(r"^[0-9]{16,19}$")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")


class PayeeRefused(Exception):
    """Nothing was kept; ``field`` names the form field the message is about (or "")."""

    def __init__(self, code: str, message: str, field: str = ""):
        self.code, self.message, self.field = code, message, field
        super().__init__(message)


def masked_card(number: str) -> str:
    return f"{number[:4]} **** **** {number[-4:]}"


def payee_people(resident: Resident) -> list[tuple[Person, str]]:
    """Whom this resident may register a payee for: himself, and the minors he bought for as their
    guardian (``enrollment.selectors.guarded_policies``), each with who must hold the card."""
    from enrollment.selectors import guarded_policies

    people = [(resident.person, Payee.SELF)] if resident.person_id else []
    minors = Person.objects.filter(pk__in=guarded_policies(resident).values("person_id")).exclude(
        pk=resident.person_id).order_by("pk")
    return people + [(person, Payee.GUARDIAN) for person in minors]


def current_payees(person_ids) -> dict[int, Payee]:
    return {p.person_id: p for p in Payee.objects.filter(person_id__in=list(person_ids), replaced_at__isnull=True)}


def _clean(card_number: str, phone: str) -> tuple[str, str]:
    card = re.sub(r"[\s-]", "", card_number or "")
    if not CARD.match(card) or not luhn.is_valid(card):
        raise PayeeRefused("card_number", "卡号应为16至19位数字，请核对后重新输入", "card_number")
    phone = (phone or "").strip()
    if not PHONE.match(phone):
        raise PayeeRefused("phone", "请输入11位银行预留手机号", "phone")
    return card, phone


REFUSALS = {
    identity.MISMATCH: ("mismatch", "银行卡核验未通过：卡号、持卡人姓名、身份证号与银行预留手机号不一致，或该卡不能收款（{}）。"
                                    "请核对后重试，或换一张卡", "card_number"),
    identity.NO_RECORD: ("no_record", "银行未查到该卡（{}），请核对卡号", "card_number"),
    identity.INVALID: ("invalid", "卡号或手机号格式不被银行接受（{}），请核对", "card_number"),
    identity.UNSUPPORTED: ("unsupported", "该证件暂不支持银行卡核验（{}），请联系客服", ""),
    identity.UNAVAILABLE: ("unavailable", "银行卡核验服务暂时不可用，未作任何更改，请稍后再试", ""),
}


def payee_register(*, resident: Resident, person_id: int, kind: str, card_number: str, phone: str) -> Payee:
    """Verify the card for this person (the resident's own card, or his own as guardian of a minor)
    and keep it as the person's payee, replacing the last one. Refusals change nothing but the
    masked record of the check (``PayeeCheck``)."""
    if kind not in dict(Payee.KIND_CHOICES):
        raise PayeeRefused("kind", "请选择账户类型", "kind")
    allowed = {person.pk: (person, holder) for person, holder in payee_people(resident)}
    if person_id not in allowed:
        raise PayeeRefused("person", "只能为本人或您作为监护人投保的未成年人登记收款账户", "person")
    person, holder_kind = allowed[person_id]
    card, phone = _clean(card_number, phone)
    holder = resident.person  # the insured adult himself, or the guardian for a minor
    record = {"resident": resident, "person": person, "card_masked": masked_card(card)}
    if take(daily("payee-checks", resident.pk, CHECKS_PER_DAY)) is not None:
        PayeeCheck.objects.create(**record, outcome=PayeeCheck.LIMITED)
        raise PayeeRefused("limited", "今日银行卡核验次数已用完，请明日再试", "")
    verdict = identity.verify_bank_card(name=holder.name, id_number=holder.id_number, card_number=card, phone=phone)
    PayeeCheck.objects.create(**record, outcome=verdict.outcome, result=verdict.result[:60],
                              description=verdict.description[:100], request_id=verdict.request_id[:64])
    if verdict.outcome != identity.MATCH:
        code, message, field = REFUSALS.get(verdict.outcome, REFUSALS[identity.UNAVAILABLE])
        raise PayeeRefused(code, message.format(verdict.description or verdict.result), field)
    now = timezone.now()
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()  # one registration at a time per person
        Payee.objects.filter(person=person, replaced_at__isnull=True).update(replaced_at=now)
        payee = Payee.objects.create(
            person=person, kind=kind, holder=holder_kind, holder_name=holder.name,
            holder_id_masked=holder.id_masked, holder_id_hash=holder.id_hash, card_cipher=crypto.encrypt(card),
            card_hash=crypto.blind_index(card), card_masked=masked_card(card), phone_masked=sms.masked_phone(phone),
            added_by=resident, request_id=verdict.request_id[:64], verified_at=now)
        if resident.phone:
            transaction.on_commit(lambda: _tell(resident.phone, person.name, payee.card_masked[-4:]))
    logger.info("payee %s verified for person %s", payee.card_masked, person.pk)
    return payee


def _tell(phone: str, name: str, last4: str) -> None:
    try:
        sms.send(phone=phone, template="payee_verified", name=name, last4=last4)
    except sms.SmsError:
        logger.warning("payee_verified SMS not sent")
