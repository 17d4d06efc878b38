"""The basic-insurance registry: is this person's basic medical insurance in force, where?

``lookup(id_number, name)`` and the batched ``lookup_many(people)`` answer with a
``RegistryAnswer``; ``eligibility(program, answer)`` applies a program's rule. The registry is the
医疗保障信息平台, asked in its signed envelope (``portal.integrations.hsa.persons``: transaction
``C101``, one request per 500 people; README "The medical-insurance platform"). Outside
production the platform is its simulator, over HTTP like the real one, answering from the roster
staff import in the admin (``portal.simulators.models.RosterEntry``). Someone the platform does
not know is ``not_insured``.

Mapping of the platform's answer: the basic-insurance record (``insutype`` 310 职工 before 390
居民) gives the status (``psn_insu_stas`` 1 in force, 2 suspended, 4 or none not insured), the
insured region (``insuplc_admdvs``), the category (310 ``employee``, 390 ``resident``), the join
date (``psn_insu_date``) and the personal account balance (``balc``); the identity records
(``idetinfo``) give medical assistance, veteran, newborn and the hardship statuses; the name is
compared with ``psn_name``; ``famacctinfo`` names the relatives bound for 家庭共济.

A platform that does not answer (connection error, timeout, HTTP error, a signature that does not
verify, an error ``infcode``, an unreadable or incomplete answer) raises ``RegistryUnavailable``:
the portal then says "try again" and never sells on a guess.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from enrollment import idnumber
from portal.integrations.hsa import envelope, persons

logger = logging.getLogger(__name__)

IN_FORCE, NOT_INSURED, SUSPENDED = "in_force", "not_insured", "suspended"
STATUS_TEXT = {IN_FORCE: "参保缴费正常", NOT_INSURED: "未参加基本医疗保险", SUSPENDED: "基本医疗保险暂停参保"}
BATCH_SIZE = persons.BATCH_SIZE
HARDSHIP_FACTS = ("dibao", "tekun", "monitored")  # enrollment.models.HardshipStatus, besides medical assistance


class RegistryUnavailable(Exception):
    def __init__(self, detail: str = ""):
        self.detail = detail
        super().__init__("医保参保信息查询暂时不可用，请稍后重试")


@dataclass(frozen=True)
class RegistryAnswer:
    status: str
    insured_region: str = ""
    category: str = ""
    medical_assistance: bool = False
    veteran: bool = False
    newborn: bool = False
    name_matches: bool = True
    account_balance: Decimal | None = None
    joined_on: date | None = None  # joined basic insurance (psn_insu_date)
    hardship: tuple[str, ...] = ()  # 低保 / 特困 / 防返贫监测 (HardshipStatus values)
    psn_no: str = ""  # the platform's person number
    family: frozenset[str] = field(default_factory=frozenset)  # psn_no of relatives bound for 家庭共济

    def binds(self, relative: RegistryAnswer) -> bool:
        """Whether this person's 家庭共济 binding names ``relative``."""
        return bool(relative.psn_no) and relative.psn_no in self.family


NOT_FOUND = RegistryAnswer(status=NOT_INSURED)


@dataclass(frozen=True)
class Eligibility:
    ok: bool
    code: str
    message: str


def eligibility(program, answer: RegistryAnswer) -> Eligibility:
    """A program's rule: basic insurance in force in its region (Wuwei: the city; Weihai: anywhere
    in Shandong), employees and residents alike; newborns and veterans are never excluded."""
    if not answer.name_matches:
        return Eligibility(False, "name_mismatch", "姓名与身份证号不一致，请核对后重新输入。")
    if answer.status == NOT_INSURED:
        return Eligibility(False, "not_insured", f"未查询到基本医疗保险参保记录：{program.name}须先参加基本医疗保险。")
    if answer.status == SUSPENDED:
        return Eligibility(False, "suspended", "基本医疗保险处于暂停参保状态，请先恢复参保缴费后再投保。")
    if not program.region_eligible(answer.insured_region):
        return Eligibility(
            False,
            "outside_region",
            f"{program.name}面向{program.city}及规定地区的基本医保参保人员，该人员的参保地（{answer.insured_region}）不在范围内。",
        )
    return Eligibility(True, "eligible", STATUS_TEXT[IN_FORCE])


def lookup(id_number: str, name: str) -> RegistryAnswer:
    number = idnumber.normalize(id_number)
    return lookup_many([(number, name)])[number]


def lookup_many(people: list[tuple[str, str]]) -> dict[str, RegistryAnswer]:
    """Answers keyed by normalised ID number; one platform request per 500 people."""
    parsed = [(idnumber.parse(number), name) for number, name in people]  # once per person
    answers: dict[str, RegistryAnswer] = {}
    for start in range(0, len(parsed), BATCH_SIZE):
        batch = parsed[start : start + BATCH_SIZE]
        names = {number.number: name for number, name in batch}
        try:
            found = persons.query([(number.number, number.cert_type, name) for number, name in batch])
        except (envelope.Unavailable, envelope.PlatformError) as exc:
            logger.warning("registry unavailable for a batch of %d: %s", len(batch), exc)
            raise RegistryUnavailable(type(exc).__name__) from exc
        answers.update({number: _answer(person, names[number]) for number, person in found.items()})
    return answers


_STATUS = {persons.INSURED: IN_FORCE, persons.PAUSED: SUSPENDED, persons.ENDED: NOT_INSURED}
_CATEGORY = {persons.EMPLOYEE_INSUTYPE: "employee", persons.RESIDENT_INSUTYPE: "resident"}


def _answer(person: persons.Person, name: str) -> RegistryAnswer:
    base = person.base()
    if not person.found or base is None:
        return NOT_FOUND
    return RegistryAnswer(
        status=_STATUS[base.psn_insu_stas],
        insured_region=base.insuplc_admdvs,
        category=_CATEGORY.get(base.insutype, ""),
        medical_assistance="medical_assistance" in person.identities,
        veteran="veteran" in person.identities,
        newborn="newborn" in person.identities,
        name_matches=person.psn_name.strip() == name.strip(),
        account_balance=base.balc,
        joined_on=base.psn_insu_date,
        hardship=tuple(fact for fact in HARDSHIP_FACTS if fact in person.identities),
        psn_no=person.psn_no,
        family=person.family,
    )
