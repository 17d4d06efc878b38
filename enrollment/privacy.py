"""A resident's rights over his personal information in 我的账户 (PIPL arts. 44–47): correcting his
contact data (a new mobile proven by an SMS code), withdrawing a consent with its consequences
applied, and closing the account. What is held about him is read by ``enrollment.personal_data``.

Closing keeps what the law requires insurers to keep — policies, orders, payments, claims, consent
records, verification records (保险法第八十七条: at least five years after a contract of one year or
less ends) — attached to the closed account's empty shell, and removes the account's login data: its
mobile number, user name and password, sign-in codes, its real-name binding, family list,
organization memberships, renewal authorizations and open invitations to its number.
"""

from __future__ import annotations

import logging

import pghistory
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment import accounts, selectors
from enrollment.accounts import AccountError
from enrollment.models import (
    Consent,
    ConsentText,
    FamilyMember,
    IdentityAppeal,
    Order,
    OrganizationMember,
    Person,
    Policy,
    RenewalAuthorization,
    Resident,
    SmsCode,
)
from portal import sms

logger = logging.getLogger(__name__)

# What withdrawing each consent does. The terms of a policy are a contract, not a consent: it ends
# by cancelling the policy (before cover starts), not by withdrawal.
CONSEQUENCES = {
    ConsentText.PRIVACY: [
        "今后不再基于该授权处理其个人信息：自动续保停止，不再抽取其参加回访。",
        "已生效保单的理赔、退保、监管报送等履行合同和法定义务所必需的处理依法继续（《个人信息保护法》第十三条），"
        "撤回前已进行的处理不受影响。",
        "再次投保时须重新阅读并同意个人信息处理授权。",
    ],
    ConsentText.AUTO_RENEWAL: [
        "自动续保停止，代扣协议随即解除，下一年度须自行投保。",
        "已生效的保单不受影响。",
    ],
    ConsentText.PERSONAL_ACCOUNT: [
        "今后不再从其医保个人账户扣缴保费，须改用在线支付。",
        "已完成的支付不受影响。",
    ],
}
WITHDRAWABLE = tuple(CONSEQUENCES)


# --- Consents ------------------------------------------------------------------------------------


def managed_persons(resident: Resident) -> list[Person]:
    """Whose consents this account may withdraw: the person himself, and the minors he bought for
    as their guardian (an adult withdraws his own, from his own account)."""
    ids = set(selectors.guarded_policies(resident).values_list("person_id", flat=True))
    if resident.person_id:
        ids.add(resident.person_id)
    return list(Person.objects.filter(pk__in=ids).order_by("pk"))


def consents_in_force(person: Person) -> dict[str, Consent]:
    """The person's latest consent of each withdrawable kind that has not been withdrawn."""
    found: dict[str, Consent] = {}
    for consent in (Consent.objects.filter(person=person, text__kind__in=WITHDRAWABLE, withdrawn_at__isnull=True)
                    .select_related("text").order_by("given_at")):
        found[consent.text.kind] = consent
    return found


def consent_withdraw(*, resident: Resident, person_id: int, kind: str) -> int:
    """Withdraw the person's consents of ``kind`` and apply the consequences (``CONSEQUENCES``).
    Returns how many consent records were marked withdrawn (0: nothing was in force)."""
    if kind not in WITHDRAWABLE:
        raise AccountError("not_withdrawable", "保险条款是合同内容，不能撤回；如需终止请在保障开始前退保。", "kind")
    person = next((p for p in managed_persons(resident) if p.pk == person_id), None)
    if person is None:
        raise AccountError("not_yours", "只能撤回本人或本人监护的未成年人的授权。", "person")
    now = timezone.now()
    with transaction.atomic(), pghistory.context(action="consent_withdraw", resident=resident.pk, kind=kind):
        count = Consent.objects.filter(person=person, text__kind=kind, withdrawn_at__isnull=True).update(
            withdrawn_at=now, withdrawn_by=resident)
        if kind in (ConsentText.PRIVACY, ConsentText.AUTO_RENEWAL):
            for authorization in RenewalAuthorization.objects.filter(person=person, revoked_at__isnull=True):
                transaction.on_commit(lambda a=authorization: _revoke(a), robust=True)
    logger.info("account %s withdrew %s consent of person %s (%d records)", resident.pk, kind, person.pk, count)
    return count


def _revoke(authorization: RenewalAuthorization) -> None:
    from enrollment import services

    services.renewal_revoke(resident=authorization.resident, authorization=authorization)


def privacy_withdrawn(queryset):
    """Persons of ``queryset`` who withdrew their consent to the processing of their information and
    have not given it again (follow-up visits leave them out)."""
    privacy = Consent.objects.filter(text__kind=ConsentText.PRIVACY)
    return queryset.filter(pk__in=privacy.filter(withdrawn_at__isnull=False).values("person_id")).exclude(
        pk__in=privacy.filter(withdrawn_at__isnull=True).values("person_id"))


# --- Contact data ----------------------------------------------------------------------------------


def phone_change(*, resident: Resident, phone: str, code: str, ip: str | None = None) -> Resident:
    """Move the account to a new mobile number, proven held by the code sent to it; the old number
    is told by SMS. A number that already has an account is refused (said only after the code)."""
    new = accounts.check_phone(phone)
    if new == resident.phone:
        raise AccountError("same_phone", "新手机号与当前手机号相同。", "phone")
    accounts.code_check(phone=new, code=code, ip=ip)
    try:
        with transaction.atomic():
            locked = Resident.objects.select_for_update().select_related("user").get(pk=resident.pk)
            if Resident.objects.by_phone(new).exists():
                raise AccountError("phone_taken", "该手机号已注册其他账户。请用该号码登录后注销那个账户，或联系客服。", "phone")
            old = locked.phone
            locked.phone = new
            locked.save(update_fields=Resident.PHONE_FIELDS)
            locked.user.username = accounts.username_for(new)
            locked.user.save(update_fields=["username"])
            shown = sms.masked_phone(new)
            if old:
                transaction.on_commit(lambda: sms.send(phone=old, template="phone_changed", number=shown), robust=True)
    except IntegrityError:
        raise AccountError("phone_taken", "该手机号已注册其他账户。", "phone") from None
    logger.info("account %s moved to %s", resident.pk, sms.masked_phone(new))
    return locked


# --- Closing the account -----------------------------------------------------------------------------


def account_close(*, resident: Resident, code: str, ip: str | None = None) -> None:
    """Close the account after a code sent to its own number: login data goes, records the law
    requires stay (module docstring). Refused while it is an organization's only manager."""
    if not resident.phone or resident.closed_at:
        raise AccountError("closed", "该账户已注销。", "code")
    accounts.code_check(phone=resident.phone, code=code, ip=ip)
    now = timezone.now()
    with transaction.atomic(), pghistory.context(action="account_close", resident=resident.pk, reason="本人注销账户"):
        locked = Resident.objects.select_for_update().select_related("user").get(pk=resident.pk)
        for membership in OrganizationMember.objects.filter(resident=locked, role=OrganizationMember.MANAGER).select_related(
                "organization"):
            others = OrganizationMember.objects.filter(organization=membership.organization,
                                                       role=OrganizationMember.MANAGER).exclude(resident=locked)
            if not others.exists():
                raise AccountError("last_manager", f"您是“{membership.organization.name}”唯一的管理员，请先邀请其他人担任"
                                   "管理员后再注销账户。", "code")
        for order in Order.objects.filter(resident=locked, status=Order.PENDING, organization__isnull=True,
                                          campaign__isnull=True):
            order.cancel()
            order.closed_at = now
            order.save(update_fields=["status", "closed_at"])
            Policy.objects.filter(order=order, status=Policy.PENDING).update(status=Policy.EXPIRED)
        for authorization in RenewalAuthorization.objects.filter(resident=locked, revoked_at__isnull=True):
            transaction.on_commit(lambda a=authorization: _revoke(a), robust=True)
        IdentityAppeal.objects.filter(resident=locked, status=IdentityAppeal.PENDING).update(
            status=IdentityAppeal.REJECTED, decided_at=now, decision_note="申诉账户已注销")
        FamilyMember.objects.filter(resident=locked).delete()
        OrganizationMember.objects.filter(resident=locked).delete()
        phone = locked.phone
        SmsCode.objects.by_phone(phone).delete()
        locked.person, locked.bound_at, locked.phone, locked.closed_at = None, None, None, now
        locked.save(update_fields=["person", "bound_at", "closed_at", *Resident.PHONE_FIELDS])
        user = locked.user
        user.username = f"closed:{locked.pk}"
        user.set_unusable_password()
        user.is_active = False
        user.first_name = user.last_name = user.email = ""
        user.save()
        transaction.on_commit(lambda: sms.send(phone=phone, template="account_closed"), robust=True)
    logger.info("account %s closed", resident.pk)
