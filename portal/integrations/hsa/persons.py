"""Person information and insurance status from the platform (the registry adapter's protocol).

Transaction ``C101`` 人员参保信息批量查询 — the bureau's extension for commercial insurers,
modelled on ``1101`` 人员信息获取 (our choice: the public ``1101`` asks about one person, and the
portal checks lists of up to 500 people at once; one signed request per batch instead of 500).

Input ``{"data": [{"psn_cert_type": "01", "certno": "...", "psn_name": "..."}, ...]}`` (at most
``BATCH_SIZE``). Output ``{"psninfo": [...]}``: one item per person asked, in any order, each
shaped like ``1101``'s output plus two extensions::

    {"certno": "...",                                   # echoed, to key the answer
     "baseinfo": {"psn_no", "psn_cert_type", "certno", "psn_name"} | {} (no such person),
     "insuinfo": [{"insutype": "310"|"390", "psn_insu_stas": "1"|"2"|"4", "insuplc_admdvs": "371002",
                   "psn_insu_date": "2019-01-01", "balc": "1500.00", "psn_type": "..."}],
     "idetinfo": [{"psn_idet_type": "2301", "begntime": "...", "endtime": null}],
     "famacctinfo": [{"psn_no": "..."}]}                # extension: 家庭共济 bound relatives

Code sets (national ``insutype`` and ``psn_insu_stas``; ``psn_idet_type`` values are the local
bureau's list, ours below — production confirms them with the bureau, here alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from portal.integrations.hsa import envelope

INFNO = "C101"
BATCH_SIZE = 500
EMPLOYEE_INSUTYPE, RESIDENT_INSUTYPE = "310", "390"  # 职工基本医疗保险, 城乡居民基本医疗保险
INSUTYPES = {EMPLOYEE_INSUTYPE: "职工基本医疗保险", RESIDENT_INSUTYPE: "城乡居民基本医疗保险"}
INSURED, PAUSED, ENDED = "1", "2", "4"  # psn_insu_stas: 正常参保, 暂停参保, 终止参保
PSN_INSU_STAS = {INSURED: "正常参保", PAUSED: "暂停参保", ENDED: "终止参保"}
# psn_idet_type (人员身份类别), local list: fact -> code
IDET_TYPES = {
    "medical_assistance": "2301",  # 医疗救助对象
    "dibao": "2302",  # 低保对象
    "tekun": "2303",  # 特困人员
    "monitored": "2304",  # 防返贫监测对象
    "veteran": "1201",  # 退役军人
    "newborn": "1301",  # 当年出生的新生儿（随父母参保）
}
IDET_FACTS = {code: fact for fact, code in IDET_TYPES.items()}


@dataclass(frozen=True)
class Insurance:
    insutype: str
    psn_insu_stas: str
    insuplc_admdvs: str
    psn_insu_date: date | None
    balc: Decimal | None


@dataclass(frozen=True)
class Person:
    certno: str
    psn_no: str = ""
    psn_name: str = ""
    insurances: tuple[Insurance, ...] = ()
    identities: frozenset[str] = field(default_factory=frozenset)  # facts of IDET_TYPES
    family: frozenset[str] = field(default_factory=frozenset)  # psn_no of 家庭共济 relatives

    @property
    def found(self) -> bool:
        return bool(self.psn_no)

    def base(self) -> Insurance | None:
        """The basic medical insurance record (职工 before 居民), if any."""
        records = {record.insutype: record for record in self.insurances}
        return records.get(EMPLOYEE_INSUTYPE) or records.get(RESIDENT_INSUTYPE)


class AnswerInvalid(envelope.Unavailable):
    """A verified answer this adapter cannot read (a field out of its code set, a missing person)."""


def _date(value) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise AnswerInvalid(f"psn_insu_date {value!r}") from None


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise AnswerInvalid("balc") from None


def _person(item: dict) -> Person:
    base = item.get("baseinfo") or {}
    insurances = []
    for record in item.get("insuinfo") or []:
        insutype, status = str(record.get("insutype", "")), str(record.get("psn_insu_stas", ""))
        if status not in PSN_INSU_STAS:
            raise AnswerInvalid(f"psn_insu_stas {status!r}")
        insurances.append(Insurance(insutype=insutype, psn_insu_stas=status,
                                    insuplc_admdvs=str(record.get("insuplc_admdvs") or ""),
                                    psn_insu_date=_date(record.get("psn_insu_date")), balc=_amount(record.get("balc"))))
    identities = frozenset(IDET_FACTS[str(i.get("psn_idet_type"))] for i in item.get("idetinfo") or []
                           if str(i.get("psn_idet_type")) in IDET_FACTS)
    family = frozenset(str(m["psn_no"]) for m in item.get("famacctinfo") or [] if m.get("psn_no"))
    return Person(certno=str(item.get("certno") or base.get("certno") or ""), psn_no=str(base.get("psn_no") or ""),
                  psn_name=str(base.get("psn_name") or ""), insurances=tuple(insurances), identities=identities,
                  family=family)


def query(people: list[tuple[str, str, str]]) -> dict[str, Person]:
    """``people``: (certno, psn_cert_type, psn_name), at most ``BATCH_SIZE``. Answers keyed by
    certno, every person asked present. Raises ``envelope.Unavailable`` (incl. :class:`AnswerInvalid`)
    or ``envelope.PlatformError``."""
    if len(people) > BATCH_SIZE:
        raise ValueError(f"at most {BATCH_SIZE} people a request")
    data = [{"psn_cert_type": cert_type, "certno": certno, "psn_name": name} for certno, cert_type, name in people]
    answer = envelope.call(INFNO, {"data": data})
    try:
        items = answer.output["psninfo"]
        persons = [_person(item) for item in items]
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnswerInvalid("output.psninfo") from exc
    found = {person.certno.upper(): person for person in persons}
    missing = [certno for certno, _, _ in people if certno.upper() not in found]
    if missing:
        raise AnswerInvalid(f"answer without {len(missing)} of {len(people)} people")
    return {certno: found[certno.upper()] for certno, _, _ in people}
