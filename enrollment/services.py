"""Writes to the enrollment data: keyword arguments, one transaction each."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from enrollment import cover, idnumber, midyear, selectors, validation
from enrollment.models import (
    Channel,
    CoInsurer,
    Consent,
    ConsentText,
    DeductibleGroup,
    FamilyMember,
    Order,
    Person,
    Plan,
    Policy,
    PriceBand,
    ProductVersion,
    Program,
    RatioBand,
    Relation,
    RenewalAuthorization,
    Resident,
    Responsibility,
)
from enrollment.selectors import PersonInput
from portal import crypto

logger = logging.getLogger(__name__)

PRODUCTS_FILE = Path(__file__).resolve().parent / "data" / "products.json"


# --- Persons ---------------------------------------------------------------------------------


def persons_get_or_create(*, people: list[tuple[str, str]], known: tuple[Person, ...] = ()) -> dict[str, Person]:
    """``person_get_or_create`` for many (name, ID number) pairs in a constant number of queries;
    keyed by normalised ID number. ``known``: persons already read (the buyer's own), taken as
    they are; nothing is asked when every pair is one of them."""
    on_hand = {p.id_hash: p for p in known}
    wanted: dict[str, Person] = {}
    ready: dict[str, Person] = {}
    for name, id_number in people:
        parsed = idnumber.parse(id_number)  # raises IdNumberError
        if parsed.number in wanted or parsed.number in ready:
            continue
        person = on_hand.get(crypto.blind_index(parsed.number))
        if person is not None:
            ready[parsed.number] = person
            continue
        person = Person(name=name.strip())
        person.set_id_number(parsed.number)
        wanted[parsed.number] = person
    if not wanted:
        return ready
    by_hash = {p.id_hash: number for number, p in wanted.items()}
    found = {by_hash[p.id_hash]: p for p in Person.objects.filter(id_hash__in=list(by_hash))}
    found.update(ready)
    missing = [p for number, p in wanted.items() if number not in found]
    if missing:
        Person.objects.bulk_create(missing, ignore_conflicts=True)  # the blind index is unique: races end in one row
        found.update({by_hash[p.id_hash]: p for p in Person.objects.filter(id_hash__in=[p.id_hash for p in missing])})
    return found


def person_get_or_create(*, name: str, id_number: str) -> Person:
    """The one Person for this ID number, created on first sight (concurrency-safe: the blind
    index is unique, so two simultaneous first sightings end with one row)."""
    person = Person(name=name.strip())
    parsed = person.set_id_number(id_number)  # raises IdNumberError
    existing = Person.objects.filter(id_hash=crypto.blind_index(parsed.number)).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        return Person.objects.get(id_hash=person.id_hash)
    return person


# --- Product configuration -------------------------------------------------------------------


@transaction.atomic
def version_publish(*, version: ProductVersion) -> ProductVersion:
    """Validate the whole version and freeze it. Raises ``ValidationError`` listing every problem."""
    version = ProductVersion.objects.select_for_update().select_related("program").get(pk=version.pk)
    if version.is_published:
        raise ValidationError("该产品版本已发布，不能重复发布。")
    errors = validation.version_errors(version)
    if errors:
        raise ValidationError(errors)
    version.publish()
    version.published_at = timezone.now()
    version.save()
    return version


def _copy_children(source: Plan, target: Plan) -> None:
    for model in (PriceBand, DeductibleGroup, RatioBand, Responsibility):
        rows = list(model.objects.filter(plan=source))
        for row in rows:
            row.pk = None
            row.plan = target
        model.objects.bulk_create(rows)


@transaction.atomic
def version_copy(*, version: ProductVersion, slug: str, year: int | None = None) -> ProductVersion:
    """A new draft with the same plans and terms: how a published version is "changed"."""
    if ProductVersion.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"版本代码“{slug}”已存在。"})
    plans = list(version.plans.all())
    version.pk = None
    version.slug = slug
    version.year = year or version.year
    version.status = ProductVersion.DRAFT
    version.published_at = None
    version.save()
    for plan in plans:
        source_pk = plan.pk
        plan.pk = None
        plan.version = version
        plan.save()
        _copy_children(Plan.objects.get(pk=source_pk), plan)
    return version


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _load_plan(version: ProductVersion, data: dict) -> None:
    plan = Plan.objects.create(
        version=version,
        code=data["code"],
        name=data["name"],
        position=data.get("position", 0),
        is_sample=data.get("is_sample", False),
        pricing=data.get("pricing", Plan.FLAT),
        price=_money(data.get("price")),
        pre_existing_ratio=Decimal(data["pre_existing_ratio"]),
        uplift_per_year=_money(data.get("uplift_per_year")),
        uplift_cap=_money(data.get("uplift_cap")),
        assistance_ratio_bonus=_money(data.get("assistance_ratio_bonus")),
    )
    PriceBand.objects.bulk_create(
        PriceBand(plan=plan, min_age=b["min_age"], max_age=b["max_age"], price=Decimal(b["price"]))
        for b in data.get("price_bands", [])
    )
    DeductibleGroup.objects.bulk_create(
        DeductibleGroup(
            plan=plan,
            code=g["code"],
            name=g["name"],
            amount=Decimal(g["amount"]),
            assistance_amount=_money(g.get("assistance_amount")),
        )
        for g in data.get("deductible_groups", [])
    )
    RatioBand.objects.bulk_create(
        RatioBand(plan=plan, upper=_money(b["upper"]), ratio=Decimal(b["ratio"])) for b in data["ratio_bands"]
    )
    Responsibility.objects.bulk_create(
        Responsibility(
            plan=plan,
            position=position,
            code=r["code"],
            name=r["name"],
            covered_field=r["covered_field"],
            annual_limit=Decimal(r["annual_limit"]),
            deductible_group=r.get("deductible_group", ""),
            schedule=r.get("schedule", Responsibility.BANDS),
            flat_ratio=_money(r.get("flat_ratio")),
            visit_types=r.get("visit_types", []),
            min_hospital_level=r.get("min_hospital_level"),
            require_designated=r.get("require_designated", False),
            require_in_region=r.get("require_in_region", False),
            diagnosis_ranges=r.get("diagnosis_ranges", ""),
            drug_list=r.get("drug_list", ""),
        )
        for position, r in enumerate(data["responsibilities"], start=1)
    )


@transaction.atomic
def products_load(*, path: Path = PRODUCTS_FILE) -> list[str]:
    """Load the shipped programs and versions; a version whose slug exists is left untouched
    (staff may have edited it). Returns the slugs created."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    created = []
    for text in data.get("consent_texts", []):
        ConsentText.objects.get_or_create(
            kind=text["kind"],
            version=text["version"],
            defaults={"title": text["title"], "body": text["body"], "effective_at": timezone.now()},
        )
    for p in data["programs"]:
        program, program_created = Program.objects.get_or_create(
            code=p["code"],
            defaults={
                "name": p["name"],
                "city": p["city"],
                "eligible_regions": p["eligible_regions"],
                "premium_cap_ratio": _money(p.get("premium_cap_ratio")),
                "payout_ratio_floor": _money(p.get("payout_ratio_floor")),
                "cost_ratio_ceiling": _money(p.get("cost_ratio_ceiling")),
                "loss_ratio_floor": _money(p.get("loss_ratio_floor")),
                "cycle_years": p.get("cycle_years", 1),
                "enrollment_target_rate": _money(p.get("enrollment_target_rate")),
                "enrollment_target_year": p.get("enrollment_target_year"),
                "operating_cost_rate": _money(p.get("operating_cost_rate")) or Decimal("0.0800"),
                "personal_account_payment": p.get("personal_account_payment", False),
                "auto_renewal": p.get("auto_renewal", False),
                "midyear_kinds": p.get("midyear_kinds", []),
                "midyear_join_days": p.get("midyear_join_days", 30),
                "midyear_premium": p.get("midyear_premium", Program.PREMIUM_MONTHLY),
                "service_phone": p.get("service_phone", ""),
            },
        )
        if not program_created and not program.service_phone and p.get("service_phone"):
            Program.objects.filter(pk=program.pk, service_phone="").update(service_phone=p["service_phone"])
        if program_created:
            CoInsurer.objects.bulk_create(
                CoInsurer(program=program, name=c["name"], share=Decimal(c["share"]), is_lead=c["is_lead"])
                for c in p["coinsurers"]
            )
        for v in p["versions"]:
            if ProductVersion.objects.filter(slug=v["slug"]).exists():
                continue
            version = ProductVersion.objects.create(
                program=program,
                slug=v["slug"],
                year=v["year"],
                name=v["name"],
                sales_start=v["sales_start"],
                sales_end=v["sales_end"],
                coverage_start=v["coverage_start"],
                coverage_end=v["coverage_end"],
                resident_contribution=_money(v.get("resident_contribution")),
                terms_version=v.get("terms_version", "v1"),
            )
            for plan in v["plans"]:
                _load_plan(version, plan)
            if v.get("publish"):
                version_publish(version=version)
            created.append(version.slug)
    return created


# --- Purchase (self and family) --------------------------------------------------------------


class PurchaseRefused(Exception):
    """A purchase that cannot go ahead; nothing was written.

    ``errors`` maps a field name (``people-0-id_number``, ``consent``, ``sales_window``...) to a list
    of ``(code, message)``; ``message`` is the first one, for a one-line answer.
    """

    def __init__(self, errors: dict[str, list[tuple[str, str]]]):
        self.errors = errors
        first = next(iter(errors.values()))[0]
        self.code, self.message = first
        super().__init__(self.message)


def _number(prefix: str) -> str:
    return f"{prefix}{timezone.localdate():%Y%m%d}{secrets.randbelow(10**10):010d}"


def order_create(
    *,
    resident: Resident,
    plan: Plan,
    people: list[PersonInput],
    accepted: set[str],
    ip_address: str | None = None,
) -> Order:
    """Reserve every person under ``plan`` in one pending order, or refuse with reasons per person.

    Each person is checked (ID, base insurance, not yet covered, price); consent to the terms and
    to the use of personal information is recorded per person with the texts' versions. The
    database's partial unique constraint decides races: a person covered meanwhile through any
    channel makes the whole order refused, naming that person, and nothing is kept.
    """
    version = plan.version
    today = timezone.localdate()
    if not midyear.may_sell(version, today):
        raise PurchaseRefused(
            {
                "sales_window": [
                    (
                        "sales_closed",
                        f"{version.name}的投保时间为{version.sales_start:%Y年%-m月%-d日}至"
                        f"{version.sales_end:%Y年%-m月%-d日}，当前不在投保期内。",
                    )
                ]
            }
        )
    missing = {ConsentText.TERMS, ConsentText.PRIVACY} - accepted
    if missing:
        raise PurchaseRefused({"consent": [("consent_required", "请阅读并同意保险条款和个人信息处理授权。")]})
    if not people:
        raise PurchaseRefused({"people": [("people_required", "请至少添加一位被保险人。")]})

    checks = selectors.people_check(resident=resident, plan=plan, people=people, today=today)
    errors: dict[str, list[tuple[str, str]]] = {}
    seen: dict[str, int] = {}
    for index, check in enumerate(checks):
        for field, problems in check.errors.items():
            errors.setdefault(f"people-{index}-{field}", []).extend(problems)
        if check.id_number:
            if check.id_number in seen:
                errors.setdefault(f"people-{index}-id_number", []).append(
                    ("duplicate_person", f"与第{seen[check.id_number] + 1}位被保险人的身份证号重复。")
                )
            seen.setdefault(check.id_number, index)
    if errors:
        raise PurchaseRefused(errors)

    # The registry was asked above, outside any transaction; from here on it is one transaction.
    with transaction.atomic():
        return _order_write(resident=resident, plan=plan, people=people, checks=checks, ip_address=ip_address)


def _order_write(*, resident, plan, people, checks, ip_address) -> Order:
    """The order, its people, policies, family links and consents in a constant number of
    statements. Policies are inserted with ON CONFLICT DO NOTHING: the one-live-policy constraint
    decides every race, and a person it turned away refuses the whole order (rolled back)."""
    version = plan.version
    texts = selectors.consent_texts()
    channel = Channel.SELF if all(p.relation == Relation.SELF for p in people) else Channel.FAMILY
    order = Order.objects.create(
        number=_number("O"),
        version=version,
        resident=resident,
        channel=channel,
        amount=sum((c.price for c in checks), Decimal("0.00")),
        expires_at=timezone.now() + timedelta(minutes=settings.ORDER_TTL_MINUTES),
    )
    persons = persons_get_or_create(people=[(p.name, c.id_number) for p, c in zip(people, checks, strict=True)],
                                    known=(resident.person,) if resident.person_id else ())
    chosen = [persons[c.id_number] for c in checks]
    years = selectors.prior_consecutive_years_many(person_ids=[p.pk for p in chosen], version=version)
    prefix = version.program.code[:2].upper()
    Policy.objects.bulk_create([
        Policy(
            number=_number(prefix),
            person=person,
            version=version,
            plan=plan,
            order=order,
            channel=Channel.SELF if person_input.relation == Relation.SELF else Channel.FAMILY,
            relation=person_input.relation,
            premium=check.price,
            consecutive_years=years.get(person.pk, 0),
            medical_assistance=check.medical_assistance,
            insured_region=check.insured_region,
            coverage_start=cover.start_for(version=version, paid_on=timezone.localdate()),
            coverage_end=version.coverage_end,
        )
        for person_input, check, person in zip(people, checks, chosen, strict=True)
    ], ignore_conflicts=True)
    policies = {p.person_id: p for p in Policy.objects.filter(order=order).only("id", "person_id")}
    errors: dict[str, list[tuple[str, str]]] = {}
    for index, (person_input, person) in enumerate(zip(people, chosen, strict=True)):
        if person.pk not in policies:
            errors.setdefault(f"people-{index}-id_number", []).append(
                ("already_covered", f"{person_input.name}：本年度已参保，每人每年度限购一份。")
            )
    if errors:
        transaction.set_rollback(True)
        raise PurchaseRefused(errors)
    FamilyMember.objects.bulk_create([
        FamilyMember(resident=resident, person=person, relation=person_input.relation)
        for person_input, person in zip(people, chosen, strict=True) if person_input.relation != Relation.SELF
    ], ignore_conflicts=True)  # an existing link keeps its relation
    Consent.objects.bulk_create([
        Consent(person=person, text=text, given_by=resident, as_guardian=check.minor, policy=policies[person.pk],
                ip_address=ip_address)
        for check, person in zip(checks, chosen, strict=True) for text in texts
    ])
    return order


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


# --- Auto-renewal by consent (Weihai) ----------------------------------------------------------


def renewal_authorize(
    *, resident: Resident, policy: Policy, channel: str = "wechatpay", return_url: str = "", client_ip: str = "",
    ip_address: str | None = None,
) -> tuple[RenewalAuthorization, str]:
    """Opt in: renew ``policy``'s person under the same plan code each year, charged by withholding.

    The consent text's version is recorded and a withholding contract is pre-signed with the
    channel (微信委托代扣 or 支付宝商户代扣); the payer signs it on the provider's page (the URL
    returned) and the authorization counts once the provider reports the contract signed
    (notification, or the query when the payer comes back). A refused pre-sign leaves nothing behind.
    """
    from portal.integrations import payments

    program = policy.version.program
    if not program.auto_renewal:
        raise PurchaseRefused({"renewal": [("renewal_not_offered", f"{program}不提供自动续保。")]})
    if policy.status != Policy.ACTIVE or not Policy.objects.filter(selectors.paid_by(resident), pk=policy.pk).exists():
        raise PurchaseRefused({"renewal": [("renewal_not_allowed", "只能为本人购买的有效保单开通自动续保。")]})
    if channel not in payments.CHANNELS:
        raise PurchaseRefused({"channel": [("channel_invalid", "请选择微信支付或支付宝代扣。")]})
    text = ConsentText.objects.filter(kind=ConsentText.AUTO_RENEWAL).latest()
    with transaction.atomic():
        # An earlier opt-in the payer never signed on the provider's page gives way to this one.
        RenewalAuthorization.objects.filter(person=policy.person, program=program, revoked_at__isnull=True,
                                            agreement_no="").update(revoked_at=timezone.now())
        consent = Consent.objects.create(
            person=policy.person, text=text, given_by=resident, policy=policy, ip_address=ip_address
        )
        try:
            with transaction.atomic():
                authorization = RenewalAuthorization.objects.create(
                    resident=resident, person=policy.person, program=program, plan_code=policy.plan.code,
                    consent=consent, channel=channel,
                )
        except IntegrityError:
            raise PurchaseRefused(
                {"renewal": [("renewal_exists", f"{policy.person.name}已开通自动续保。")]}
            ) from None
        authorization.contract_code = f"HMB{program.code.upper()}{authorization.pk:010d}"
        authorization.save(update_fields=["contract_code"])
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        try:
            sign_url = payments.channel(channel).contract_presign(
                out_contract_code=authorization.contract_code, display_account="*" + policy.person.name[-1:],
                notify_url=base + reverse("enrollment:pay_notify", args=[channel]),
                return_url=return_url or base + reverse("enrollment:renewal"), client_ip=client_ip,
            )
        except payments.ProviderError as exc:
            raise PurchaseRefused({"renewal": [("provider_unavailable", exc.message)]}) from None
    return authorization, sign_url


def renewal_contract_record(*, authorization: RenewalAuthorization, contract) -> RenewalAuthorization:
    """What the provider says of the contract: signed (the authorization counts from now) or
    terminated (by the payer in the provider's app, or by us)."""
    if contract.state == "SIGNED" and not authorization.agreement_no and authorization.revoked_at is None:
        RenewalAuthorization.objects.filter(pk=authorization.pk, agreement_no="").update(
            agreement_no=contract.contract_id, signed_at=timezone.now())
    elif contract.state == "TERMINATED":
        RenewalAuthorization.objects.filter(pk=authorization.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
    authorization.refresh_from_db()
    return authorization


def renewal_refresh(*, authorization: RenewalAuthorization) -> RenewalAuthorization:
    """Back from the provider's signing page: ask whether the contract is signed."""
    from portal.integrations import payments

    if authorization.agreement_no or authorization.revoked_at or not authorization.contract_code:
        return authorization
    try:
        contract = payments.channel(authorization.channel).contract_query(authorization.contract_code)
    except payments.ProviderError:
        return authorization
    return renewal_contract_record(authorization=authorization, contract=contract)


def renewal_revoke(*, resident: Resident, authorization: RenewalAuthorization) -> None:
    """Revoke at any time: no renewal order is created for it afterwards; a signed contract is
    terminated with the provider."""
    from portal.integrations import payments

    if authorization.resident_id != resident.pk:
        raise PurchaseRefused({"renewal": [("renewal_not_yours", "只能撤销本人开通的自动续保。")]})
    with transaction.atomic():
        updated = RenewalAuthorization.objects.filter(pk=authorization.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    if updated and authorization.agreement_no:
        try:
            payments.channel(authorization.channel).contract_terminate(out_contract_code=authorization.contract_code)
        except payments.ProviderError as exc:
            logger.warning("terminating contract %s failed: %s", authorization.contract_code, exc.code)
