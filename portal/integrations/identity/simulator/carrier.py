"""Writing the simulated carriers' subscriber records (the admin, the demo data, tests)."""

from __future__ import annotations

from enrollment import idnumber
from portal import crypto
from portal.integrations.identity.simulator.models import CarrierLine


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
