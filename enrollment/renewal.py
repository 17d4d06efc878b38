"""Renewal charging (Weihai 知情同意代扣): when a version opens for sale, one renewal order per signed
authorization — but only after asking the registry again about every person.

- The registry is asked once for all of the version's authorized people (``lookup_many``, batched).
  If it does not answer, nothing is charged that day: the daily run tries again.
- A person it no longer finds eligible (not insured, suspended, insured outside the program's
  region, name no longer matching) is not charged; the refusal is recorded once per authorization
  and version (``RenewalRefusal``), and the payer is told by SMS and on 我的保单. The payer learns the
  detailed reason when the insured is himself, only the category (不符合投保条件) otherwise — as for any
  check of another person. A later daily run within the sales window renews him if that changed.
- Registry-derived facts are taken from this year's answer, not carried from last year: the
  medical-assistance status (the Weihai tilt), and whatever else the answer carries.
- The relation to the payer is carried over from the payer's last policy for the person.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment import cover, idnumber, registry, selectors
from enrollment.models import (
    Channel,
    Order,
    PaymentMethod,
    Policy,
    ProductVersion,
    Relation,
    RenewalAuthorization,
    RenewalRefusal,
)
from enrollment.services import _constraint, _number

logger = logging.getLogger(__name__)


def _notice(*, phone: str, person, version: ProductVersion, amount) -> None:
    """The payer is told before the withholding charge (SMS template ``renewal_notice``)."""
    from portal import sms

    try:
        sms.send(phone=phone, template="renewal_notice", name=person.name, product=version.name, amount=f"{amount:.2f}",
                 date=f"{timezone.localdate():%Y-%m-%d}")
    except sms.SmsError:
        logger.warning("renewal notice for order of version %s not sent", version.slug)


def _relation(authorization: RenewalAuthorization, version: ProductVersion) -> str:
    """The relation the payer declared on his latest policy for the person."""
    resident, person = authorization.resident, authorization.person
    if resident.person_id == person.pk:
        return Relation.SELF
    last = (Policy.objects.filter(selectors.paid_by(resident), person=person, version__program=version.program,
                                  version__year__lt=version.year)
            .exclude(relation=Relation.SELF).order_by("-version__year").values_list("relation", flat=True).first())
    return last or Relation.OTHER


def _refuse(authorization: RenewalAuthorization, version: ProductVersion, verdict) -> None:
    """Record the refusal once per version and tell the payer then."""
    own = authorization.resident.person_id == authorization.person_id
    message = verdict.message if own else f"{selectors.disclosed(verdict.code)[1]}（请被保险人本人登录查看原因或咨询医保经办机构）"
    refusal, created = RenewalRefusal.objects.get_or_create(
        authorization=authorization, version=version, defaults={"code": verdict.code, "message": message[:200]})
    if not created:
        return
    logger.info("renewal of authorization %s for %s refused: %s", authorization.pk, version.slug, verdict.code)
    phone = authorization.resident.phone
    if phone:
        from portal import sms

        name, product, reason = authorization.person.name, version.name, selectors.disclosed(verdict.code)[1]
        if own:
            reason = verdict.message.rstrip("。")[:60]

        def tell():
            try:
                sms.send(phone=phone, template="renewal_refused", name=name, product=product, reason=reason)
            except sms.SmsError:
                logger.warning("renewal refusal SMS for authorization %s not sent", authorization.pk)

        transaction.on_commit(tell)


def renewal_orders_create(*, version: ProductVersion) -> list[Order]:
    """When ``version`` opens for sale: one renewal order per consenting person not yet covered and
    still eligible, charged by withholding. Revoked or unsigned authorizations are skipped; a person
    who bought meanwhile through any channel is skipped by the unique constraint, never charged twice."""
    from enrollment import billing

    authorizations = list(RenewalAuthorization.objects.filter(
        program=version.program, revoked_at__isnull=True).exclude(agreement_no="").select_related(
        "person", "resident"))
    covered = set(Policy.objects.filter(version=version, status__in=Policy.LIVE,
                                        person_id__in=[a.person_id for a in authorizations])
                  .values_list("person_id", flat=True))
    waiting = [a for a in authorizations if a.person_id not in covered]
    if not waiting:
        return []
    numbers = {a.pk: a.person.id_number for a in waiting}
    try:
        answers = registry.lookup_many([(numbers[a.pk], a.person.name) for a in waiting])
    except registry.RegistryUnavailable:
        logger.warning("renewals for %s postponed: the registry did not answer", version.slug)
        return []
    orders = []
    for authorization in waiting:
        person = authorization.person
        answer = answers[idnumber.normalize(numbers[authorization.pk])]
        verdict = registry.eligibility(version.program, answer)
        if not verdict.ok:
            _refuse(authorization, version, verdict)
            continue
        plan = version.plans.filter(code=authorization.plan_code).first()
        price = plan.price_for_age(idnumber.parse(numbers[authorization.pk]).age_on(version.coverage_start)) \
            if plan else None
        if plan is None or price is None:
            continue
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    number=_number("R"), version=version, resident=authorization.resident, channel=Channel.RENEWAL,
                    method=PaymentMethod.WITHHOLDING, amount=price,
                    expires_at=timezone.now() + timedelta(minutes=settings.ORDER_TTL_MINUTES),
                )
                Policy.objects.create(
                    number=_number(version.program.code[:2].upper()), person=person, version=version, plan=plan,
                    order=order, channel=Channel.RENEWAL, relation=_relation(authorization, version), premium=price,
                    consecutive_years=selectors.prior_consecutive_years(person=person, version=version),
                    medical_assistance=answer.medical_assistance, insured_region=answer.insured_region,
                    coverage_start=cover.start_for(version=version, paid_on=timezone.localdate()),
                    coverage_end=version.coverage_end,
                )
        except IntegrityError as exc:
            if _constraint(exc) != "one_live_policy_per_person_year":
                raise
            continue  # already covered for this year through another channel
        if authorization.resident.phone:
            _notice(phone=authorization.resident.phone, person=person, version=version, amount=price)
        billing.renewal_withhold(order=order, authorization=authorization)
        orders.append(order)
    return orders


def refusals_for(resident):
    """What 我的保单 tells the payer: renewals not charged, for versions the person is still not
    covered under."""
    refusals = list(RenewalRefusal.objects.filter(authorization__resident=resident).select_related(
        "authorization__person", "version").order_by("-created_at"))
    covered = set(Policy.objects.filter(status__in=Policy.LIVE, person_id__in=[
        r.authorization.person_id for r in refusals]).values_list("person_id", "version_id"))
    return [r for r in refusals if (r.authorization.person_id, r.version_id) not in covered]
