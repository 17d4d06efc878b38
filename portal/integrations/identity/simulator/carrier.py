"""Writing the simulated carriers' subscriber records and banks' card records (the admin, the demo
data, tests)."""

from __future__ import annotations

from enrollment import idnumber
from portal import crypto
from portal.integrations.identity.simulator.models import BankCard, CarrierLine


def masked_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def line_set(*, phone: str, id_number: str, name: str, isp: str = "移动") -> CarrierLine:
    """Register ``phone`` to this person (replacing whoever held it: numbers are reassigned)."""
    number = idnumber.parse(id_number).number
    line, _ = CarrierLine.objects.update_or_create(
        phone_hash=crypto.blind_index(phone),
        defaults={"phone_masked": masked_phone(phone), "id_hash": crypto.blind_index(number),
                  "id_masked": idnumber.mask(number), "name": name.strip(), "isp": isp})
    return line


def masked_card(number: str) -> str:
    return f"{number[:4]} **** **** {number[-4:]}"


def card_set(*, card_number: str, id_number: str, name: str, phone: str, bank: str = "甘肃银行",
             status: str = BankCard.NORMAL) -> BankCard:
    """Issue ``card_number`` to this person with the mobile reserved at the bank."""
    number = idnumber.parse(id_number).number
    card, _ = BankCard.objects.update_or_create(
        card_hash=crypto.blind_index(card_number),
        defaults={"card_masked": masked_card(card_number), "id_hash": crypto.blind_index(number),
                  "id_masked": idnumber.mask(number), "name": name.strip(), "phone_hash": crypto.blind_index(phone),
                  "phone_masked": masked_phone(phone), "bank": bank, "status": status})
    return card
