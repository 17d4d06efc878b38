"""Buying for others: organizations and their members, the employer's tax helper, 四心 campaigns.

Beneficiary lists are in ``enrollment.lists``.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from stdnum.cn import uscc

from enrollment import quotas, targeting
from enrollment.models import (
    Campaign,
    CampaignKind,
    Organization,
    OrganizationInvitation,
    OrganizationMember,
    OrganizationPayroll,
    Plan,
    Resident,
    TargetRule,
)
from portal import crypto, sms

logger = logging.getLogger(__name__)

TAX_DEDUCTIBLE_SHARE = Decimal("0.05")  # Weihai: up to 5% of the payroll, before enterprise income tax


class Refused(Exception):
    """A request that cannot be carried out; nothing was changed. ``field`` names the input."""

    def __init__(self, field: str, code: str, message: str):
        self.field, self.code, self.message = field, code, message
        super().__init__(message)


def _number(prefix: str) -> str:
    return f"{prefix}{timezone.localdate():%Y%m%d}{secrets.randbelow(10**8):08d}"


# --- Organizations -------------------------------------------------------------------------------


def credit_code_clean(value: str) -> str:
    """The unified social credit code, upper-cased; raises Refused unless its check digit holds."""
    code = (value or "").strip().upper().replace(" ", "")
    if not code:
        raise Refused("credit_code", "credit_code_required", "请填写统一社会信用代码。")
    if len(code) != 18:
        raise Refused("credit_code", "credit_code_length", f"统一社会信用代码应为18位，当前为{len(code)}位。")
    if not uscc.is_valid(code):
        raise Refused("credit_code", "credit_code_invalid", "统一社会信用代码校验未通过，请核对营业执照或登记证书。")
    return code


def organization_register(*, resident: Resident, name: str, credit_code: str, kind: str, contact_name: str,
                          contact_phone: str, invoice_title: str = "") -> Organization:
    """Register an organization; the registering account becomes its manager. Staff approve it."""
    code = credit_code_clean(credit_code)
    name = name.strip()
    if not name:
        raise Refused("name", "name_required", "请填写单位名称。")
    if kind not in dict(Organization.KIND_CHOICES):
        raise Refused("kind", "kind_invalid", "请选择单位类型。")
    if not contact_name.strip():
        raise Refused("contact_name", "contact_required", "请填写联系人。")
    if not contact_phone.strip():
        raise Refused("contact_phone", "contact_phone_required", "请填写联系电话。")
    try:
        with transaction.atomic():
            organization = Organization.objects.create(
                name=name, credit_code=code, kind=kind, contact_name=contact_name.strip(),
                contact_phone=contact_phone.strip(), invoice_title=invoice_title.strip() or name)
            OrganizationMember.objects.create(organization=organization, resident=resident,
                                              role=OrganizationMember.MANAGER)
    except IntegrityError:
        raise Refused("credit_code", "credit_code_taken",
                      "该统一社会信用代码已注册。如需加入该单位，请联系单位管理员添加您为经办人。") from None
    return organization


def organization_review(*, organization: Organization, user, approve: bool, note: str = "") -> Organization:
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        if approve and organization.status != Organization.APPROVED:
            organization.approve()
        elif not approve and organization.status == Organization.PENDING:
            if not note.strip():
                raise Refused("review_note", "note_required", "不通过时请填写审核意见。")
            organization.reject()
        else:
            return organization
        organization.review_note, organization.reviewed_by, organization.reviewed_at = note, user, timezone.now()
        organization.save()
    return organization


def membership(resident: Resident, organization: Organization) -> OrganizationMember | None:
    return OrganizationMember.objects.filter(resident=resident, organization=organization).first()


def _require(resident: Resident, organization: Organization, *, manager: bool = False) -> OrganizationMember:
    member = membership(resident, organization)
    if member is None:
        raise Refused("organization", "not_member", "您不是该单位的经办人。")
    if manager and member.role != OrganizationMember.MANAGER:
        raise Refused("organization", "manager_only", "只有单位管理员可以进行此操作。")
    return member


def _require_approved(organization: Organization) -> None:
    if organization.status != Organization.APPROVED:
        raise Refused("organization", "not_approved", "单位注册信息尚未通过审核，审核通过后才能为他人投保。")


INVITATION_DAYS = 7


def _phone(value: str) -> str:
    phone = (value or "").strip().replace(" ", "")
    if not re.fullmatch(r"1[3-9][0-9]{9}", phone):
        raise Refused("phone", "phone_invalid", "请输入正确的11位手机号码。")
    return phone


def member_invite(*, organization: Organization, by: Resident, phone: str, role: str) -> OrganizationInvitation:
    """Invite a mobile number to act for the organization: an SMS goes to it whether or not it has
    an account, and the manager is told the same either way; the number's account accepts it after
    signing in. Inviting the same number again renews the open invitation."""
    _require(by, organization, manager=True)
    if role not in dict(OrganizationMember.ROLE_CHOICES):
        raise Refused("role", "role_invalid", "请选择角色。")
    phone = _phone(phone)
    digest = crypto.blind_index(phone)
    if organization.members.filter(resident__phone_hash=digest).exists():  # the manager sees the members anyway
        raise Refused("phone", "already_member", "该手机号已是本单位经办人。")
    quota = quotas.daily("invitations", organization.pk, settings.INVITATIONS_PER_ORGANIZATION_DAY)
    if quotas.take(quota) is not None:
        raise Refused("phone", "too_many_invitations", f"每个单位每天最多发送{quota.maximum}条邀请，请明日再试。")
    expires = timezone.now() + timedelta(days=INVITATION_DAYS)
    fields = {"phone_masked": sms.masked_phone(phone), "role": role, "invited_by": by, "expires_at": expires}
    with transaction.atomic():
        try:
            with transaction.atomic():
                invitation, _ = OrganizationInvitation.objects.update_or_create(
                    organization=organization, phone_hash=digest, answered_at__isnull=True, defaults=fields)
        except IntegrityError:  # the same number invited at the same moment: one open invitation
            invitation = OrganizationInvitation.objects.get(organization=organization, phone_hash=digest,
                                                            answered_at__isnull=True)
        name = organization.name
        transaction.on_commit(lambda: sms.send(phone=phone, template="org_invitation", organization=name), robust=True)
    return invitation


def invitations_for(resident: Resident):
    """Open invitations to this account's mobile number."""
    return OrganizationInvitation.objects.filter(
        phone_hash=crypto.blind_index(resident.phone), answered_at__isnull=True, expires_at__gt=timezone.now(),
    ).select_related("organization")


def invitation_answer(*, invitation_id: int, resident: Resident, accept: bool) -> OrganizationMember | None:
    """The invited number's account accepts (becomes a member) or declines."""
    with transaction.atomic():
        invitation = invitations_for(resident).select_for_update(of=("self",)).filter(pk=invitation_id).first()
        if invitation is None:
            raise Refused("invitation", "invitation_gone", "该邀请不存在或已失效。")
        invitation.answered_at, invitation.accepted = timezone.now(), accept
        invitation.save(update_fields=["answered_at", "accepted"])
        if not accept:
            return None
        member, _ = OrganizationMember.objects.get_or_create(
            organization=invitation.organization, resident=resident, defaults={"role": invitation.role})
        return member


def invitation_revoke(*, organization: Organization, by: Resident, invitation_id: int) -> None:
    _require(by, organization, manager=True)
    OrganizationInvitation.objects.filter(organization=organization, pk=invitation_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), accepted=False)


def member_remove(*, organization: Organization, by: Resident, member_id: int) -> None:
    _require(by, organization, manager=True)
    member = OrganizationMember.objects.filter(organization=organization, pk=member_id).first()
    if member is None:
        return
    if member.role == OrganizationMember.MANAGER and not organization.members.filter(
            role=OrganizationMember.MANAGER).exclude(pk=member.pk).exists():
        raise Refused("member", "last_manager", "单位至少需要一名管理员。")
    member.delete()


def tax_room(*, payroll: Decimal, spent: Decimal, price: Decimal | None = None) -> dict:
    """Weihai: an employer's supplementary medical insurance paid for all its employees is deductible
    up to 5% of the payroll. Returns the cap, what is left after ``spent`` and, at ``price`` a head,
    how many people that room still covers."""
    cap = (payroll * TAX_DEDUCTIBLE_SHARE).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    room = max(cap - spent, Decimal("0.00"))
    return {"cap": cap, "room": room, "people": int(room // price) if price else None}


def payroll_declare(*, organization: Organization, by: Resident, year: int, amount: Decimal) -> OrganizationPayroll:
    """A manager declares (or corrects) the organization's payroll for a tax year."""
    _require(by, organization, manager=True)
    if amount is None or amount <= 0:
        raise Refused("amount", "payroll_invalid", "职工工资总额应大于0元。")
    if not 2000 <= year <= timezone.localdate().year:
        raise Refused("year", "year_invalid", "请填写本年度或以前年度。")
    payroll, _ = OrganizationPayroll.objects.update_or_create(
        organization=organization, year=year, defaults={"amount": amount.quantize(Decimal("0.01")), "declared_by": by})
    return payroll


# --- Campaigns -----------------------------------------------------------------------------------


def campaign_create(*, organization: Organization | None, by: Resident | None, kind: str, name: str, plan: Plan,
                    target_group: str, target_count: int, budget: Decimal, description: str = "",
                    target_rule: str = TargetRule.MEMBERS, min_age: int | None = None,
                    hardship_statuses=()) -> Campaign:
    """A 四心 campaign: its organizer's kind and its target rule must fit its kind
    (``enrollment.targeting``); ``organization`` None is a campaign the agency runs (献爱心 only)."""
    if organization is not None:
        _require(by, organization, manager=True)
        _require_approved(organization)
    if kind not in CampaignKind.values:
        raise Refused("kind", "kind_invalid", "请选择“四心”活动类型。")
    statuses = sorted(set(hardship_statuses or ()))
    errors = targeting.rule_errors(kind=kind, organizer_kind=organization.kind if organization else None,
                                   target_rule=target_rule, min_age=min_age, statuses=statuses)
    if errors:
        raise Refused(*errors[0])
    if not name.strip():
        raise Refused("name", "name_required", "请填写活动名称。")
    if target_count <= 0:
        raise Refused("target_count", "target_invalid", "目标人数应大于0。")
    if budget < 0:
        raise Refused("budget", "budget_invalid", "预算不能为负数。")
    slug = f"{slugify(kind)}-{timezone.localdate():%Y%m%d}-{secrets.token_hex(3)}"
    return Campaign.objects.create(kind=kind, name=name.strip(), slug=slug, organizer=organization, plan=plan,
                                   target_group=target_group.strip(), target_count=target_count, budget=budget,
                                   description=description.strip(), target_rule=target_rule,
                                   min_age=min_age if target_rule == TargetRule.ELDERLY else None,
                                   hardship_statuses=statuses if target_rule == TargetRule.HARDSHIP else [])
