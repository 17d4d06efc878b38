"""The charity fund (Weihai 爱心基金): donations in, allocations out as paid policies.

The ledger is append-only. Every entry is written under a row lock on the fund, together with the
new balance, so the balance is always donations − allocations; a database check refuses a balance
below zero even if a bug got past the lock.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment import cover, idnumber, registry, selectors
from enrollment.models import (
    Channel,
    CharityFund,
    FundEntry,
    Order,
    Organization,
    PaymentMethod,
    Plan,
    Policy,
    Relation,
    Resident,
)
from enrollment.organizations import Refused
from enrollment.services import _number, person_get_or_create

logger = logging.getLogger(__name__)


def money(value, field: str = "amount") -> Decimal:
    """A positive amount in yuan with at most two places, or Refused naming ``field``."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise Refused(field, "amount_invalid", "请输入金额（元），例如 5000.00") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise Refused(field, "amount_invalid", "金额应大于0，最多保留两位小数。")
    if amount >= Decimal("10000000000"):
        raise Refused(field, "amount_invalid", "金额过大，请核对。")
    return amount.quantize(Decimal("0.01"))


def donation_record(*, fund: CharityFund, amount: Decimal, donor_name: str, user, reference: str,
                    organization: Organization | None = None, note: str = "") -> FundEntry:
    """A donation that has arrived (the bank reference is accepted once per fund)."""
    amount = money(amount)
    if not (donor_name or "").strip() and organization is None:
        raise Refused("donor_name", "donor_required", "请填写捐赠方（单位或个人姓名）。")
    if not reference.strip():
        raise Refused("reference", "reference_required", "请填写到账凭证号（银行流水号）。")
    try:
        with transaction.atomic():
            locked = CharityFund.objects.select_for_update().get(pk=fund.pk)
            locked.balance += amount
            locked.save(update_fields=["balance"])
            return FundEntry.objects.create(
                fund=locked, kind=FundEntry.DONATION, amount=amount, balance_after=locked.balance,
                donor_name=(donor_name or organization.name).strip(), organization=organization,
                reference=reference.strip(), note=note, created_by=user)
    except IntegrityError:
        raise Refused("reference", "reference_used", "该到账凭证号已登记过，不能重复入账。") from None


def allocate(*, fund: CharityFund, plan: Plan, name: str, id_number: str, user, note: str) -> FundEntry:
    """Pay one eligible resident's premium from the fund: a paid policy and a negative entry, or
    Refused (nothing written). Staff name the group in ``note`` (e.g. 医疗救助对象)."""
    if plan.version.program_id != fund.program_id:
        raise Refused("plan", "plan_not_in_program", "所选方案不属于该基金的项目。")
    if not note.strip():
        raise Refused("note", "note_required", "请填写资助对象类别（如：医疗救助对象、特困人员）。")
    try:
        parsed = idnumber.parse(id_number)
    except idnumber.IdNumberError as exc:
        raise Refused("id_number", exc.code, exc.message) from None
    if not selectors.NAME_PATTERN.match(name.strip()):
        raise Refused("name", "name_invalid", "姓名应为2至30个汉字或字母，与身份证一致。")
    version = plan.version
    if cover.start_for(version=version, paid_on=timezone.localdate()) > version.coverage_end:
        raise Refused("plan", "cover_ended", f"{version.name}的保障期已结束，不能再资助投保。")
    price = plan.price_for_age(parsed.age_on(version.coverage_start))
    if price is None:
        raise Refused("id_number", "no_price", "该年龄暂无对应保费。")
    try:
        answer = registry.lookup(parsed.number, name.strip())
    except registry.RegistryUnavailable:
        raise Refused("registry", "registry_unavailable", "医保参保信息查询暂时不可用，请稍后重试。") from None
    verdict = registry.eligibility(version.program, answer)
    if not verdict.ok:
        raise Refused("registry", verdict.code, verdict.message)
    now = timezone.now()
    with transaction.atomic():
        locked = CharityFund.objects.select_for_update().get(pk=fund.pk)
        if locked.balance < price:
            raise Refused("amount", "fund_insufficient", f"基金余额{locked.balance}元，不足以支付保费{price}元。")
        person = person_get_or_create(name=name.strip(), id_number=parsed.number)
        order = Order.objects.create(number=_number("F"), version=version, channel=Channel.FUND,
                                     method=PaymentMethod.FUND, amount=price, status=Order.PAID, paid_at=now,
                                     expires_at=now)
        try:
            with transaction.atomic():
                policy = Policy.objects.create(
                    number=_number(version.program.code[:2].upper()), person=person, version=version, plan=plan,
                    order=order, channel=Channel.FUND, relation=Relation.OTHER, premium=price,
                    consecutive_years=selectors.prior_consecutive_years(person=person, version=version),
                    medical_assistance=answer.medical_assistance, insured_region=answer.insured_region,
                    coverage_start=cover.start_for(version=version, paid_on=timezone.localdate(now)),
                    coverage_end=version.coverage_end, status=Policy.ACTIVE, activated_at=now)
        except IntegrityError:
            transaction.set_rollback(True)
            raise Refused("id_number", "already_covered", f"该人员已有{version.year}年度保单，无需资助。") from None
        locked.balance -= price
        locked.save(update_fields=["balance"])
        cover.policies_activated(policy_ids=[policy.pk])
        entry = FundEntry.objects.create(fund=locked, kind=FundEntry.ALLOCATION, amount=-price,
                                         balance_after=locked.balance, policy=policy, note=note.strip(),
                                         created_by=user)
        account = Resident.objects.filter(person=person).first()
        if account is not None:
            from portal import sms

            phone, product, number, who = account.phone, version.name, policy.number, person.name
            transaction.on_commit(lambda: sms.send(phone=phone, template="policy_gifted", payer=locked.name,
                                                   name=who, product=product, policy=number))
    logger.info("fund %s allocated %s to policy %s", fund.pk, price, policy.number)
    return entry
