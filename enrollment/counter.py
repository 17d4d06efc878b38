"""Counter-assisted enrollment: staff at a service point enroll a resident who has no smartphone.

The staff member checks the resident's ID card against the person (ticked, and a database check
keeps an enrollment without it out), scans the consent form the resident signed on paper (PDF,
JPEG or PNG, at most 10 MB, kept encrypted), takes the premium in cash or by card and records it
against the open cashier shift, and prints the e-policy. The policy is the resident's own (channel
网点柜面, no account): when he later signs in and binds his real name, 我的保单 shows it.

Checks are those of any purchase: the ID number, the name, base insurance in the program's region
through the registry (the name must match), not yet covered this product year through any channel,
the sales window, the age-band price. One live policy per person and year is the database's.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from enrollment import cover, idnumber, midyear, registry, selectors
from enrollment.models import (
    CashierShift,
    Channel,
    Consent,
    ConsentText,
    CounterEnrollment,
    Order,
    Payment,
    Plan,
    Policy,
    Relation,
    ServicePoint,
)
from enrollment.organizations import Refused
from enrollment.services import _number, person_get_or_create
from portal import crypto, storage
from portal.storage import MAX_FILE_BYTES

logger = logging.getLogger(__name__)

METHODS = {CounterEnrollment.CASH: "现金", CounterEnrollment.CARD: "银行卡（POS）"}
CARD_REFERENCE = re.compile(r"^[0-9A-Za-z]{6,32}$")
PHONE = re.compile(r"^1[0-9]{10}$")


def open_shift(staff) -> CashierShift | None:
    return CashierShift.objects.filter(staff=staff, closed_at__isnull=True).select_related(
        "service_point__program").first()


def shift_open(*, staff, service_point: ServicePoint) -> CashierShift:
    if not service_point.active:
        raise Refused("service_point", "service_point_closed", "该网点已停用。")
    try:
        with transaction.atomic():
            return CashierShift.objects.create(service_point=service_point, staff=staff)
    except IntegrityError:
        raise Refused("service_point", "shift_open", "您已有未结班的班次，请先结班。") from None


def shift_totals(shift: CashierShift) -> dict:
    """Cash and card taken during the shift (from its enrollments' payments)."""
    totals = dict(Payment.objects.filter(order__counter__shift=shift, status=Payment.SUCCEEDED).values_list(
        "method").annotate(total=Sum("amount")).values_list("method", "total"))
    return {"cash": totals.get(CounterEnrollment.CASH, _zero()), "card": totals.get(CounterEnrollment.CARD, _zero()),
            "count": shift.enrollments.count()}


def _zero() -> Decimal:
    return Decimal("0.00")


def shift_close(*, shift: CashierShift, staff, cash_counted, note: str = "") -> CashierShift:
    """Close with the cash counted: the expected cash and the card total are recorded with it."""
    if shift.staff_id != staff.pk:
        raise Refused("shift", "not_your_shift", "只能结本人的班次。")
    if cash_counted is None or cash_counted < 0:
        raise Refused("cash_counted", "cash_invalid", "请填写实点现金金额。")
    with transaction.atomic():
        locked = CashierShift.objects.select_for_update().get(pk=shift.pk)
        if locked.closed_at is not None:
            raise Refused("shift", "shift_closed", "该班次已结班。")
        totals = shift_totals(locked)
        locked.cash_expected, locked.card_total = totals["cash"], totals["card"]
        locked.cash_counted, locked.note, locked.closed_at = cash_counted, note.strip()[:200], timezone.now()
        if locked.cash_counted != locked.cash_expected and not locked.note:
            raise Refused("note", "difference_unexplained",
                          f"实点现金{cash_counted}元与应收{locked.cash_expected}元不符，请填写结班说明。")
        locked.save()
    return locked


def enroll(*, shift: CashierShift, staff, plan: Plan, name: str, id_number: str, phone: str, id_card_checked: bool,
           consent_scan, method: str, card_reference: str = "", ip_address: str | None = None) -> Order:
    """Enroll one resident at the counter, paid there; returns the paid order (one active policy)."""
    if shift.staff_id != staff.pk or not shift.is_open:
        raise Refused("shift", "no_open_shift", "请先开班再办理收款。")
    version = plan.version
    if version.program_id != shift.service_point.program_id:
        raise Refused("plan", "plan_not_in_program", "所选方案不属于本网点的项目。")
    today = timezone.localdate()
    if not version.is_published or not midyear.may_sell(version, today):
        raise Refused("plan", "sales_closed", f"{version.name}当前不在投保期内。")
    if not id_card_checked:
        raise Refused("id_card_checked", "id_card_unchecked", "请核验居民身份证原件，确认人证一致后办理。")
    name = (name or "").strip()
    if not selectors.NAME_PATTERN.match(name):
        raise Refused("name", "name_invalid", "姓名应为2至30个汉字或字母，与身份证一致。")
    try:
        parsed = idnumber.parse(id_number)
    except idnumber.IdNumberError as exc:
        raise Refused("id_number", exc.code, exc.message) from None
    phone = (phone or "").strip()
    if phone and not PHONE.match(phone):
        raise Refused("phone", "phone_invalid", "手机号应为11位数字，可留空。")
    if method not in METHODS:
        raise Refused("method", "method_invalid", "请选择收款方式：现金或刷卡。")
    card_reference = (card_reference or "").strip()
    if method == CounterEnrollment.CARD and not CARD_REFERENCE.match(card_reference):
        raise Refused("card_reference", "card_reference_required", "刷卡收款请填写POS签购单上的参考号（6至32位字母或数字）。")
    scan = _scan(consent_scan)
    late = midyear.late_terms(version, today)  # past the sales window: mid-year joiners only
    price = plan.price_for_age(parsed.age_on(late.cover_start if late else version.coverage_start))
    if price is None:
        raise Refused("id_number", "no_price", "该年龄暂无对应保费。")
    try:
        answer = registry.lookup(parsed.number, name)
    except registry.RegistryUnavailable:
        raise Refused("registry", "registry_unavailable", "医保参保信息查询暂时不可用，请稍后重试。") from None
    verdict = registry.eligibility(version.program, answer)
    if not verdict.ok:
        raise Refused("registry", verdict.code, verdict.message)  # the resident is at the counter himself
    if late is not None:
        if not midyear.qualifies(version.program, answer, today):
            raise Refused("registry", *midyear.refusal(version))
        price = late.premium(price)
    now = timezone.now()
    texts = [ConsentText.objects.filter(kind=kind).latest() for kind in (ConsentText.TERMS, ConsentText.PRIVACY)]
    with transaction.atomic():
        person = person_get_or_create(name=name, id_number=parsed.number)
        order = Order.objects.create(number=_number("C"), version=version, channel=Channel.COUNTER, method=method,
                                     amount=price, status=Order.PAID, paid_at=now, expires_at=now)
        try:
            with transaction.atomic():
                policy = Policy.objects.create(
                    number=_number(version.program.code[:2].upper()), person=person, version=version, plan=plan,
                    order=order, channel=Channel.COUNTER, relation=Relation.SELF, premium=price,
                    consecutive_years=selectors.prior_consecutive_years(person=person, version=version),
                    medical_assistance=answer.medical_assistance, insured_region=answer.insured_region,
                    coverage_start=cover.start_for(version=version, paid_on=timezone.localdate(now)),
                    coverage_end=version.coverage_end, status=Policy.ACTIVE, activated_at=now)
        except IntegrityError:
            transaction.set_rollback(True)
            raise Refused("id_number", "already_covered", f"该居民已有{version.year}年度保单，每人每年度限购一份。") from None
        reference = card_reference if method == CounterEnrollment.CARD else f"CASH-{order.number}"
        try:
            with transaction.atomic():
                Payment.objects.create(order=order, provider="counter", method=method,
                                       out_trade_no=f"{order.number}C1", transaction_id=reference, amount=price,
                                       status=Payment.SUCCEEDED, succeeded_at=now)
        except IntegrityError:
            transaction.set_rollback(True)
            raise Refused("card_reference", "card_reference_used", "该刷卡参考号已登记过，请核对签购单。") from None
        Consent.objects.bulk_create(Consent(person=person, text=text, policy=policy, ip_address=ip_address)
                                    for text in texts)
        record = CounterEnrollment(order=order, shift=shift, staff=staff, id_card_checked=True, phone=phone,
                                   consent_type=scan[1], card_reference=card_reference)
        record.consent_scan.save(f"{order.number}.bin", ContentFile(scan[0]), save=False)
        record.save()
        cover.policies_activated(policy_ids=[policy.pk])
        if phone:
            product, number = version.name, policy.number
            transaction.on_commit(lambda: _tell(phone, name, product, number))
    logger.info("counter enrollment %s at %s by %s (%s)", order.number, shift.service_point, staff, method)
    return order


def _scan(upload) -> tuple[bytes, str]:
    if upload is None:
        raise Refused("consent_scan", "consent_scan_required", "请上传居民签字的投保及个人信息授权书扫描件。")
    if upload.size > MAX_FILE_BYTES:
        raise Refused("consent_scan", "consent_scan_too_large", "扫描件超过10MB，请降低分辨率后上传。")
    try:
        document = storage.document_check(upload, label="签字授权书扫描件")
    except storage.DocumentInvalid as exc:
        raise Refused("consent_scan", "consent_scan_invalid", exc.message) from None
    return crypto.encrypt_bytes(document.content), document.kind


def _tell(phone, name, product, number) -> None:
    from portal import sms

    try:
        sms.send(phone=phone, template="policy_issued", name=name, product=product, policy=number)
    except sms.SmsError:
        logger.warning("counter enrollment %s: the SMS was not sent", number)


def consent_scan(record: CounterEnrollment) -> bytes:
    """The scan, decrypted (staff reads it through a view that checks who asks)."""
    with record.consent_scan.open("rb") as handle:
        return crypto.decrypt_bytes(handle.read())
