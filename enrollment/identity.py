"""Real-name binding proven by the verification service, taking an ID number back from another
account, and appeals to customer service.

- ``resident_bind``: name + ID number, checked two-factor (``IdCardVerification``). A match binds
  the account and makes the verified name the person's name of record; anything else writes no
  name and binds nothing. An ID already bound elsewhere is said so only after the check matched.
- ``resident_bind_by_phone``: name + ID number + the account's own mobile (proven by the sign-in
  SMS code), checked three-factor against the carrier (``PhoneVerification``). A match binds the
  account, taking the person from any other account: that account is unbound, keeps nothing of the
  person and is told by SMS.
- ``appeal_open`` / ``appeal_decide``: when the mobile is in another name, a photo of the ID card
  goes to customer service (客服), who decide in the admin; approving checks name + ID two-factor
  and binds as above.

Every call is counted (per account a day, per IP address an hour; failed two-factor checks per ID
number a day) and recorded masked (``VerificationAttempt``); every change of an account's person
and every appeal decision is in the history tables (django-pghistory) with who and why.
"""

from __future__ import annotations

import logging
import secrets

import pghistory
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment import idnumber
from enrollment.accounts import NAME, AccountError
from enrollment.models import (
    FamilyMember,
    IdentityAppeal,
    Order,
    Person,
    Policy,
    Relation,
    RenewalAuthorization,
    Resident,
    VerificationAttempt,
)
from enrollment.quotas import daily, full, rolling, take
from portal import crypto, sms, storage
from portal.integrations import identity
from portal.storage import MAX_FILE_BYTES

logger = logging.getLogger(__name__)

FAILED = (identity.MISMATCH, identity.NO_RECORD)


def mask_name(name: str) -> str:
    """张桂兰 → 张*兰, 张三 → 张*: enough for its owner to recognise, not for anyone to learn."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _clean(name: str, id_number: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not NAME.match(name):
        raise AccountError("name_invalid", "请填写与身份证一致的姓名（2至30个汉字或字母）。", "name")
    try:
        return name, idnumber.parse(id_number).number
    except idnumber.IdNumberError as exc:
        raise AccountError(exc.code, exc.message, "id_number") from None


# --- Calling the verification service: counted, recorded ----------------------------------------


def _record(*, resident, purpose, method, name, number, phone, ip, outcome, result="", request_id=""):
    VerificationAttempt.objects.create(
        resident=resident, purpose=purpose, method=method, name_masked=mask_name(name)[:30],
        id_masked=idnumber.mask(number), id_hash=crypto.blind_index(number),
        phone_masked=sms.masked_phone(phone) if phone else "", ip_address=ip or None, outcome=outcome,
        result=result[:60], request_id=request_id[:64])


def _verify(*, resident: Resident | None, purpose: str, name: str, number: str, phone: str = "",
            ip: str | None = None, limited: bool = True) -> identity.Verdict:
    """One call to the service, or a refusal when a quota is used up; recorded either way."""
    method = VerificationAttempt.PHONE if phone else VerificationAttempt.ID_CARD
    id_failures = daily("idv-id-fail", crypto.blind_index(number), settings.IDENTITY_FAILURES_PER_ID_DAY)
    if limited:
        quotas = [daily("idv-account", resident.pk, settings.IDENTITY_CHECKS_PER_ACCOUNT_DAY),
                  rolling("idv-ip", ip or "unknown", settings.IDENTITY_CHECKS_PER_IP_HOUR, 3600)]
        refused = id_failures if method == VerificationAttempt.ID_CARD and full(id_failures) else take(*quotas)
        if refused is not None:
            _record(resident=resident, purpose=purpose, method=method, name=name, number=number, phone=phone, ip=ip,
                    outcome=VerificationAttempt.LIMITED, result=refused.key.split(":")[1])
            if refused is id_failures:
                raise AccountError("id_checks_exhausted", "该身份证号今日核验失败次数过多。如是本人，可改用本人实名登记的"
                                   "手机号验证，或明日再试。", "id_number")
            raise AccountError("too_many_checks", "实名核验次数过多，请明日再试或联系客服。", "id_number")
    if method == VerificationAttempt.PHONE:
        verdict = identity.verify_phone(name=name, id_number=number, phone=phone)
    else:
        verdict = identity.verify_id_card(name=name, id_number=number)
    _record(resident=resident, purpose=purpose, method=method, name=name, number=number, phone=phone, ip=ip,
            outcome=verdict.outcome, result=verdict.result, request_id=verdict.request_id)
    if method == VerificationAttempt.ID_CARD and verdict.outcome in FAILED:
        take(id_failures)
    return verdict


def _refuse(verdict: identity.Verdict, *, three_factor: bool) -> AccountError:
    if verdict.outcome == identity.UNAVAILABLE:
        return AccountError("identity_unavailable", "实名核验服务暂时不可用，请稍后再试。本次未作任何更改。", "id_number")
    if three_factor:
        if verdict.outcome == identity.INVALID:
            return AccountError("phone_check_invalid", "姓名、身份证号或本账户手机号格式有误，请核对。", "id_number")
        return AccountError("phone_mismatch", "本账户手机号的运营商实名信息与该姓名、身份证号不一致，无法通过手机号找回。"
                            "如手机号登记在他人名下，可上传身份证照片向客服申诉。", "id_number")
    if verdict.outcome == identity.NO_RECORD:
        return AccountError("identity_no_record", "未查询到该身份证号的登记信息，请核对身份证号。", "id_number")
    if verdict.outcome == identity.INVALID:
        return AccountError("identity_invalid", "姓名或身份证号格式有误，请核对。", "id_number")
    return AccountError("identity_mismatch", "姓名与身份证号不一致，请核对后重新输入。", "name")


# --- Binding ------------------------------------------------------------------------------------


def _precheck(resident: Resident, number: str) -> Resident | None:
    """The account as it is: already bound to this ID (nothing to do), or to someone else (refused)."""
    resident = Resident.objects.select_related("person").get(pk=resident.pk)
    if resident.person_id is not None:
        if resident.person.id_hash == crypto.blind_index(number):
            return resident
        raise AccountError("already_bound", "该账户已完成实名认证，不能更换为他人。", "id_number")
    return None


def resident_bind(*, resident: Resident, name: str, id_number: str, ip: str | None = None) -> Resident:
    """Two-factor binding. Raises ``AccountError``; ``person_bound_elsewhere`` means the check
    matched but another account holds the person: the owner then proves it with his mobile."""
    name, number = _clean(name, id_number)
    done = _precheck(resident, number)
    if done is not None:
        return done
    verdict = _verify(resident=resident, purpose=VerificationAttempt.BIND, name=name, number=number, ip=ip)
    if verdict.outcome != identity.MATCH:
        raise _refuse(verdict, three_factor=False)
    return _bind(resident=resident, name=name, number=number, takeover=False, action="bind")


def resident_bind_by_phone(*, resident: Resident, name: str, id_number: str, ip: str | None = None) -> Resident:
    """Three-factor binding with the account's own mobile: binds, taking the person from any other
    account. Raises ``AccountError`` (``phone_mismatch``: the way left is an appeal)."""
    name, number = _clean(name, id_number)
    done = _precheck(resident, number)
    if done is not None:
        return done
    verdict = _verify(resident=resident, purpose=VerificationAttempt.TAKEOVER, name=name, number=number,
                      phone=resident.phone, ip=ip)
    if verdict.outcome != identity.MATCH:
        raise _refuse(verdict, three_factor=True)
    return _bind(resident=resident, name=name, number=number, takeover=True, action="takeover")


def _person_verified(name: str, number: str, now) -> Person:
    """The person for this ID with the verified name as the name of record (created if new)."""
    digest = crypto.blind_index(number)
    person = Person.objects.select_for_update().filter(id_hash=digest).first()
    if person is None:
        person = Person(name=name, name_verified_at=now)
        person.set_id_number(number)
        try:
            with transaction.atomic():
                person.save()
            return person
        except IntegrityError:
            person = Person.objects.select_for_update().get(id_hash=digest)
    if person.name != name or person.name_verified_at is None:
        person.name, person.name_verified_at = name, now
        person.save(update_fields=["name", "name_verified_at"])
    return person


def _bind(*, resident: Resident, name: str, number: str, takeover: bool, action: str, user=None,
          reason: str = "") -> Resident:
    now = timezone.now()
    context = {"action": action, "reason": reason or action, "resident": resident.pk}
    if user is not None:
        context.update(user=user.pk, username=user.get_username())
    with transaction.atomic(), pghistory.context(**context):
        resident = Resident.objects.select_for_update().get(pk=resident.pk)
        if resident.person_id is not None:
            if resident.person.id_hash == crypto.blind_index(number):
                return resident
            raise AccountError("already_bound", "该账户已完成实名认证，不能更换为他人。", "id_number")
        person = _person_verified(name, number, now)
        holder = Resident.objects.select_for_update().filter(person=person).exclude(pk=resident.pk).first()
        if holder is not None:
            if not takeover:
                raise AccountError("person_bound_elsewhere", "该身份证号已绑定其他手机号账户。如是您本人，可用本账户手机号"
                                   "（须登记在您本人名下）验证后找回，原账户将解除绑定。", "id_number")
            _release(holder=holder, person=person, to=resident)
        resident.person, resident.bound_at = person, now
        resident.save(update_fields=["person", "bound_at"])
    logger.info("account %s bound to %s (%s)", resident.pk, idnumber.mask(number), action)
    return resident


def _release(*, holder: Resident, person: Person, to: Resident) -> None:
    """Unbind ``holder`` from ``person``; it keeps nothing of the person. What it filed about the
    person's own policies (claim submissions, tickets) goes to the person's new account."""
    from claims.models import ClaimSubmission
    from supervision.models import Ticket

    holder.person, holder.bound_at = None, None
    holder.save(update_fields=["person", "bound_at"])
    FamilyMember.objects.filter(resident=holder, person=person).delete()
    ClaimSubmission.objects.filter(resident=holder, policy__person=person).update(resident=to)
    Ticket.objects.filter(resident=holder, organization__isnull=True, policy__person=person).update(resident=to)
    Ticket.objects.filter(resident=holder, organization__isnull=True, claim__policy__person=person).update(resident=to)
    # Orders it left unpaid for the person as himself are closed (it is not that person).
    for order in Order.objects.filter(resident=holder, status=Order.PENDING, policies__person=person,
                                      policies__relation=Relation.SELF).distinct():
        order.cancel()
        order.closed_at = timezone.now()
        order.save(update_fields=["status", "closed_at"])
        Policy.objects.filter(order=order, status=Policy.PENDING).update(status=Policy.EXPIRED)
    authorizations = list(RenewalAuthorization.objects.filter(resident=holder, person=person, revoked_at__isnull=True))
    for authorization in authorizations:
        transaction.on_commit(lambda a=authorization: _revoke_renewal(holder, a), robust=True)
    phone, shown = holder.phone, mask_name(person.name)
    transaction.on_commit(lambda: sms.send(phone=phone, template="identity_released", name=shown), robust=True)


def _revoke_renewal(holder: Resident, authorization: RenewalAuthorization) -> None:
    from enrollment import services

    services.renewal_revoke(resident=holder, authorization=authorization)


# --- Appeals --------------------------------------------------------------------------------------


def _number() -> str:
    return f"A{timezone.localdate():%Y%m%d}{secrets.randbelow(10**6):06d}"


def appeal_open(*, resident: Resident, name: str, id_number: str, photo, explanation: str = "") -> IdentityAppeal:
    """An appeal with a photo of the ID card (JPEG, PNG or PDF, at most 10 MB), stored encrypted.
    The answer is the same whoever holds the ID number: staff look it up."""
    name, number = _clean(name, id_number)
    _precheck(resident, number)
    if photo is None:
        raise AccountError("photo_required", "请上传身份证人像面照片。", "photo")
    if photo.size > MAX_FILE_BYTES:
        raise AccountError("photo_too_large", "照片超过10MB，请压缩后上传。", "photo")
    try:
        document = storage.document_check(photo, label="身份证人像面照片")
    except storage.DocumentInvalid as exc:
        raise AccountError("photo_invalid", exc.message, "photo") from None
    kind, sealed = document.kind, crypto.encrypt_bytes(document.content)
    appeal = IdentityAppeal(number=_number(), resident=resident, name=name, id_cipher=crypto.encrypt(number),
                            id_hash=crypto.blind_index(number), id_masked=idnumber.mask(number), photo_type=kind,
                            explanation=(explanation or "").strip()[:500])
    appeal.photo.save(f"{appeal.number}.bin", ContentFile(sealed), save=False)
    try:
        with transaction.atomic(), pghistory.context(action="appeal_open", resident=resident.pk):
            appeal.save()
    except IntegrityError:
        appeal.photo.delete(save=False)
        raise AccountError("appeal_pending", "您已有一项待审核的实名申诉，请等待客服处理结果。", "photo") from None
    return appeal


def appeal_photo(appeal: IdentityAppeal) -> bytes:
    """The photo, decrypted (the admin's photo view logs who read it)."""
    with appeal.photo.open("rb") as handle:
        return crypto.decrypt_bytes(handle.read())


def appeal_decide(*, appeal: IdentityAppeal, user, approve: bool, note: str = "") -> IdentityAppeal:
    """Customer service decide. Approving checks the name and ID number two-factor, then binds the
    appellant's account, unbinding any other (told by SMS). Raises ``AccountError``."""
    note = (note or "").strip()
    if not approve and not note:
        raise AccountError("note_required", "不通过时请填写审核意见（将告知申诉人）。", "decision_note")
    appeal = IdentityAppeal.objects.select_related("resident").get(pk=appeal.pk)
    if appeal.status != IdentityAppeal.PENDING:
        raise AccountError("appeal_decided", "该申诉已处理。", "status")
    if approve:
        verdict = _verify(resident=appeal.resident, purpose=VerificationAttempt.APPEAL, name=appeal.name,
                          number=appeal.id_number, limited=False)
        if verdict.outcome != identity.MATCH:
            outcome = dict(VerificationAttempt.OUTCOME_CHOICES).get(verdict.outcome, verdict.outcome)
            raise AccountError("appeal_unverified", f"姓名与身份证号核验结果为“{outcome}”，不能通过申诉。", "status")
    context = {"user": user.pk, "username": user.get_username(), "action": "appeal_decide", "reason": note}
    with transaction.atomic(), pghistory.context(**context):
        locked = IdentityAppeal.objects.select_for_update().get(pk=appeal.pk)
        if locked.status != IdentityAppeal.PENDING:
            raise AccountError("appeal_decided", "该申诉已处理。", "status")
        if approve:
            _bind(resident=locked.resident, name=locked.name, number=locked.id_number, takeover=True,
                  action="appeal", user=user, reason=note or f"申诉{locked.number}通过")
        locked.status = IdentityAppeal.APPROVED if approve else IdentityAppeal.REJECTED
        locked.decided_by, locked.decided_at, locked.decision_note = user, timezone.now(), note[:300]
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        phone, number = locked.resident.phone, locked.number
        template = "identity_appeal_approved" if approve else "identity_appeal_rejected"
        transaction.on_commit(lambda: sms.send(phone=phone, template=template, number=number), robust=True)
    logger.info("identity appeal %s %s by %s", locked.number, locked.status, user.get_username())
    return locked


# --- Names recorded before verification ------------------------------------------------------------


def recheck_bound_names(*, limit: int | None = None) -> dict[str, int]:
    """Accounts bound before binding was verified: check each name + ID two-factor once. A match
    marks the name verified; a mismatch or no record unbinds the account (it never proved who it
    is) and tells it by SMS to bind again; no answer leaves it for the next run."""
    counts = {"verified": 0, "unbound": 0, "unavailable": 0}
    residents = Resident.objects.filter(person__isnull=False, person__name_verified_at__isnull=True).select_related(
        "person")
    for resident in residents[:limit] if limit else residents:
        person = resident.person
        verdict = _verify(resident=resident, purpose=VerificationAttempt.RECHECK, name=person.name,
                          number=person.id_number, limited=False)
        if verdict.outcome == identity.MATCH:
            Person.objects.filter(pk=person.pk).update(name_verified_at=timezone.now())
            counts["verified"] += 1
        elif verdict.outcome in FAILED:
            with transaction.atomic(), pghistory.context(action="recheck", reason="存量实名复核未通过"):
                Resident.objects.filter(pk=resident.pk, person=person).update(person=None, bound_at=None)
                phone = resident.phone
                transaction.on_commit(lambda p=phone: sms.send(phone=p, template="identity_recheck_failed"),
                                      robust=True)
            counts["unbound"] += 1
        else:
            counts["unavailable"] += 1
    return counts
