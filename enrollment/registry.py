"""The basic-insurance registry adapter: is this person's basic medical insurance in force, where?

``lookup(id_number, name)`` and the batched ``lookup_many(people)`` answer with a
``RegistryAnswer``; ``eligibility(program, answer)`` applies a program's rule. The backend is
``settings.REGISTRY_BACKEND``:

- ``simulator``: the local registry simulator, which reads the roster staff import in the admin
  (``portal.simulators.models.RosterEntry``, found by blind index). Someone not on the roster is
  ``not_insured``, as the real registry answers.
- ``http``: the bureau's registry interface —

  ``POST {REGISTRY_API_URL}/v1/insured/lookup`` with ``{"id_number": ..., "name": ...}`` and
  ``POST {REGISTRY_API_URL}/v1/insured/lookup-batch`` with
  ``{"people": [{"id_number", "psn_cert_type", "name"}, ...]}`` (``psn_cert_type``: the 医保
  document-type code of the number, ``idnumber.cert_type``: 01 resident card, 17 HK/Macao/Taiwan
  residence permit, 07 foreigners' permanent-residence card)
  (at most 500 a request). Headers: ``X-App-Key``, ``X-Timestamp`` (Unix seconds), ``X-Nonce``,
  ``X-Signature`` = hex HMAC-SHA256(``REGISTRY_APP_SECRET``, ``"POST\\n{path}\\n{timestamp}\\n{nonce}\\n{body}"``).
  Answer: ``{"status": "in_force"|"not_insured"|"suspended", "insured_region": "620602",
  "category": "employee"|"resident", "medical_assistance": bool, "veteran": bool, "newborn": bool,
  "name_matches": bool, "account_balance": "123.45"|null, "joined_on": "2026-03-15"|null}`` (batch: ``{"results": [{"id_number", ...}]}``).

A registry that does not answer (connection error, timeout, 5xx, unreadable JSON) raises
``RegistryUnavailable``: the portal then says "try again" and never sells on a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings

from enrollment import idnumber
from portal import crypto

logger = logging.getLogger(__name__)

IN_FORCE, NOT_INSURED, SUSPENDED = "in_force", "not_insured", "suspended"
STATUS_TEXT = {IN_FORCE: "参保缴费正常", NOT_INSURED: "未参加基本医疗保险", SUSPENDED: "基本医疗保险暂停参保"}
BATCH_SIZE = 500


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
    joined_on: date | None = None  # the day the person joined basic insurance (mid-year joiners)


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
    """Answers keyed by normalised ID number; batched (one query / one request per 500)."""
    normalised = [(idnumber.normalize(number), name) for number, name in people]
    backend = settings.REGISTRY_BACKEND
    answers: dict[str, RegistryAnswer] = {}
    for start in range(0, len(normalised), BATCH_SIZE):
        batch = normalised[start : start + BATCH_SIZE]
        if backend == "simulator":
            answers.update(_simulator(batch))
        elif backend == "http":
            answers.update(_http(batch))
        else:  # pragma: no cover - a settings mistake
            raise RegistryUnavailable(f"unknown REGISTRY_BACKEND {backend!r}")
    return answers


def _simulator(batch: list[tuple[str, str]]) -> dict[str, RegistryAnswer]:
    from portal.simulators.models import RosterEntry

    hashes = {crypto.blind_index(number): (number, name) for number, name in batch}
    found = {entry.id_hash: entry for entry in RosterEntry.objects.filter(id_hash__in=list(hashes))}
    answers = {}
    for digest, (number, name) in hashes.items():
        entry = found.get(digest)
        if entry is None:
            answers[number] = NOT_FOUND
            continue
        answers[number] = RegistryAnswer(
            status=entry.status,
            insured_region=entry.insured_region,
            category=entry.category,
            medical_assistance=entry.medical_assistance,
            veteran=entry.veteran,
            newborn=entry.newborn,
            name_matches=entry.name.strip() == name.strip(),
            account_balance=entry.account_balance,
            joined_on=entry.joined_on,
        )
    return answers


def signature(secret: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = b"\n".join([b"POST", path.encode(), timestamp.encode(), nonce.encode(), body])
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _http(batch: list[tuple[str, str]]) -> dict[str, RegistryAnswer]:
    path = "/v1/insured/lookup-batch"
    people = [{"id_number": n, "psn_cert_type": idnumber.cert_type(n), "name": name} for n, name in batch]
    body = json.dumps({"people": people}, ensure_ascii=False).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    request = urllib.request.Request(
        settings.REGISTRY_API_URL.rstrip("/") + path,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Key": settings.REGISTRY_APP_KEY,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature(settings.REGISTRY_APP_SECRET, path, timestamp, nonce, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.REGISTRY_TIMEOUT_SECONDS) as response:
            payload = json.loads(response.read().decode("utf-8"))
        results = {idnumber.normalize(item["id_number"]): _answer(item) for item in payload["results"]}
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, TypeError,
            idnumber.IdNumberError) as exc:
        logger.warning("registry unavailable for a batch of %d: %s", len(batch), type(exc).__name__)
        raise RegistryUnavailable(type(exc).__name__) from exc
    missing = [number for number, _ in batch if number not in results]
    if missing:
        logger.warning("registry answered without %d of %d people", len(missing), len(batch))
        raise RegistryUnavailable("incomplete answer")
    return results


def _answer(item: dict) -> RegistryAnswer:
    status = item["status"]
    if status not in STATUS_TEXT:
        raise ValueError(f"unknown status {status!r}")
    balance = item.get("account_balance")
    try:
        balance = None if balance is None else Decimal(str(balance))
    except InvalidOperation as exc:
        raise ValueError("bad account_balance") from exc
    return RegistryAnswer(
        status=status,
        insured_region=str(item.get("insured_region", "")),
        category=str(item.get("category", "")),
        medical_assistance=bool(item.get("medical_assistance", False)),
        veteran=bool(item.get("veteran", False)),
        newborn=bool(item.get("newborn", False)),
        name_matches=bool(item.get("name_matches", True)),
        account_balance=balance,
        joined_on=date.fromisoformat(item["joined_on"]) if item.get("joined_on") else None,
    )
