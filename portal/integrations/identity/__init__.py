"""Identity verification: is this name the holder of this ID number, and is this mobile his?

The small API the apps call (``enrollment.identity`` does binding, takeover and appeals):

- ``verify_id_card(name=..., id_number=...)``: two-factor check (name + ID number) against the
  ID authority — Tencent Cloud faceid ``IdCardVerification``;
- ``verify_phone(name=..., id_number=..., phone=...)``: three-factor check (name + ID number +
  mobile) against the carrier's subscriber record — ``PhoneVerification``;
- ``verify_bank_card(name=..., id_number=..., card_number=..., phone=...)``: four-factor check of a
  bank card (or a 社保卡's financial account) against the issuing bank's record of its holder and the
  mobile the bank holds for it — ``BankCard4EVerification``.

Both answer a ``Verdict`` whose ``outcome`` is one of ``match``, ``mismatch``, ``no_record``,
``invalid`` (the provider refused the input's form), ``unsupported`` (a number range the carrier
check does not cover) or ``unavailable`` (no answer: never decide on it). The real client is
``faceid.py`` (the SDK, signed TC3-HMAC-SHA256); ``simulator/`` answers the same protocol from the
registry simulator's roster, its own carrier records and its banks' card records. Settings: ``conf.py``.
"""

from __future__ import annotations

from portal.integrations.identity.faceid import (
    INVALID,
    MATCH,
    MISMATCH,
    NO_RECORD,
    UNAVAILABLE,
    UNSUPPORTED,
)
from portal.integrations.identity.faceid import Answer as Verdict

__all__ = ["INVALID", "MATCH", "MISMATCH", "NO_RECORD", "UNAVAILABLE", "UNSUPPORTED", "Verdict", "verify_bank_card",
           "verify_id_card", "verify_phone"]


def verify_id_card(*, name: str, id_number: str) -> Verdict:
    from portal.integrations.identity import faceid

    return faceid.ask("IdCardVerification", IdCard=id_number, Name=name)


def verify_phone(*, name: str, id_number: str, phone: str) -> Verdict:
    from portal.integrations.identity import faceid

    return faceid.ask("PhoneVerification", IdCard=id_number, Name=name, Phone=phone)


def verify_bank_card(*, name: str, id_number: str, card_number: str, phone: str) -> Verdict:
    from portal.integrations.identity import faceid

    return faceid.ask("BankCard4EVerification", IdCard=id_number, Name=name, BankCard=card_number, Phone=phone)
