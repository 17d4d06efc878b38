"""Writes of the supervision app: tickets and replies, follow-up visits, population imports."""

from __future__ import annotations

import secrets
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.models import Claim
from claims.selectors import resident_claims
from enrollment import privacy
from enrollment.models import Organization, Person, Policy, Program, Resident
from enrollment.selectors import member_organizations, resident_policies
from portal import sms, storage, tabular
from supervision import selectors
from supervision.models import DistrictPopulation, FollowUpVisit, Ticket, TicketMessage
from supervision.selectors import resident_tickets

MAX_POPULATION_ROWS = 5000
POPULATION_COLUMNS = ("行政区划码", "区县", "基本医保参保人数")


class Refused(Exception):
    """Nothing was changed; ``field`` names the input at fault."""

    def __init__(self, field: str, code: str, message: str):
        self.field, self.code, self.message = field, code, message
        super().__init__(message)


def _attachment(upload) -> tuple:
    """A ticket's attachment checked by content (PDF, JPEG, PNG; images re-encoded), sealed with
    the field key ring; its name as sent, for the download."""
    if upload is None:
        return None, ""
    try:
        document = storage.document_check(upload, label="附件")
    except storage.DocumentInvalid as exc:
        raise Refused("attachment", exc.code.replace("document", "attachment"), exc.message) from None
    file = storage.sealed(document)
    file.name = f"{secrets.token_hex(8)}.bin"
    return file, str(upload.name)[:200]


def ticket_open(*, resident: Resident, kind: str, subject: str, body: str, attachment=None,
                policy: Policy | None = None, claim: Claim | None = None,
                organization: Organization | None = None) -> Ticket:
    """Open a ticket; its service-level clock starts now (24 hours for complaints and disputes,
    48 for enquiries). A claim or policy must be one the resident may see, an organization one
    he acts for."""
    if kind not in dict(Ticket.KIND_CHOICES):
        raise Refused("kind", "kind_invalid", "请选择工单类型。")
    if not subject.strip():
        raise Refused("subject", "subject_required", "请填写标题。")
    if not body.strip():
        raise Refused("body", "body_required", "请填写内容。")
    if organization is not None and claim is not None:  # the organization's other members would read it
        raise Refused("claim", "claim_personal", "理赔涉及个人信息，请不要代表单位提交，以个人身份提交即可。")
    if policy is not None and not resident_policies(resident).filter(pk=policy.pk).exists():
        raise Refused("policy", "policy_not_yours", "只能选择您本人或您为家人购买的保单。")
    if claim is not None and claim.pk not in {c.pk for c in resident_claims(resident)}:
        raise Refused("claim", "claim_not_yours", "只能选择您本人或您未成年子女的理赔。")
    if organization is not None and not member_organizations(resident).filter(pk=organization.pk).exists():
        raise Refused("organization", "not_a_member", "您不是该单位的经办人。")
    upload, name = _attachment(attachment)
    now = timezone.now()
    for attempt in range(5):
        number = f"T{timezone.localdate():%Y%m%d}{secrets.randbelow(10**6):06d}"
        try:
            with transaction.atomic():
                ticket = Ticket.objects.create(
                    number=number, resident=resident, organization=organization, kind=kind,
                    subject=subject.strip()[:100], policy=policy or (claim.policy if claim else None), claim=claim,
                    respond_by=now + Ticket.FIRST_RESPONSE[kind])
                TicketMessage.objects.create(ticket=ticket, from_resident=resident, body=body.strip(),
                                             attachment=upload, attachment_name=name)
            return ticket
        except IntegrityError:  # the random number was taken the same day: draw another
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def ticket_reply(*, ticket: Ticket, body: str, attachment=None, staff=None, resident: Resident | None = None,
                 status: str | None = None) -> TicketMessage:
    """A reply from staff (the first one stops the service-level clock) or from the resident."""
    if not body.strip():
        raise Refused("body", "body_required", "请填写回复内容。")
    upload, name = _attachment(attachment)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if resident is not None and not resident_tickets(resident).filter(pk=ticket.pk).exists():
            raise Refused("ticket", "not_yours", "这不是您的工单。")
        if ticket.status == Ticket.CLOSED:
            raise Refused("ticket", "closed", "工单已关闭，如有新问题请新建工单。")
        message = TicketMessage.objects.create(ticket=ticket, from_staff=staff, from_resident=resident, body=body.strip(),
                                               attachment=upload, attachment_name=name)
        now = timezone.now()
        if staff is not None:
            phone = ticket.resident.phone  # None once the account is closed: nobody to tell
            if phone:
                transaction.on_commit(lambda: sms.send(phone=phone, template="ticket_replied", number=ticket.number))
            ticket.first_response_at = ticket.first_response_at or now
            ticket.assignee = ticket.assignee or staff
            ticket.status = status or Ticket.IN_PROGRESS
        else:
            ticket.status = Ticket.IN_PROGRESS if ticket.status in (Ticket.WAITING, Ticket.RESOLVED) else ticket.status
        ticket.resolved_at = now if ticket.status in Ticket.DONE else None
        ticket.save()
    return message


def visits_draw(*, program: Program, purpose: str, start: date, end: date, count: int) -> list[FollowUpVisit]:
    """Draw ``count`` people at random among recent claimants (settled in the range) or buyers
    (policies activated in the range), leaving out anyone already drawn for the same purpose since
    ``start``."""
    if purpose not in dict(FollowUpVisit.PURPOSE_CHOICES):
        raise Refused("purpose", "purpose_invalid", "请选择回访类型。")
    if not 1 <= count <= 500:
        raise Refused("count", "count_invalid", "抽取人数应在1到500之间。")
    if start > end:
        raise Refused("start", "range_invalid", "开始日期不能晚于结束日期。")
    if purpose == FollowUpVisit.CLAIMANT:
        people = Person.objects.filter(policies__version__program=program,
                                       policies__claims__settlement__settled_at__date__range=(start, end))
    else:
        people = Person.objects.filter(policies__version__program=program,
                                       policies__activated_at__date__range=(start, end))
    visited = FollowUpVisit.objects.filter(purpose=purpose, program=program, drawn_at__date__gte=start).values(
        "person_id")
    # Those who withdrew their consent to the processing of their information are not called.
    withdrawn = privacy.privacy_withdrawn(Person.objects.all()).values("pk")
    chosen = list(Person.objects.filter(pk__in=people.exclude(pk__in=visited).exclude(pk__in=withdrawn).values("pk"))
                  .order_by("?")[:count])
    # The person's own account's number, else the buyer's (both encrypted: read through ``phone``).
    own = {r.person_id: r.phone for r in Resident.objects.filter(person__in=chosen)}
    buyers = {p.person_id: p.order.resident.phone for p in Policy.objects.filter(
        person__in=chosen, order__resident__isnull=False).select_related("order__resident")}
    return FollowUpVisit.objects.bulk_create([
        FollowUpVisit(purpose=purpose, person=p, program=program, phone=own.get(p.pk) or buyers.get(p.pk) or "")
        for p in chosen])


def visit_record(*, visit: FollowUpVisit, outcome: str, satisfaction: int | None, notes: str, user) -> FollowUpVisit:
    if outcome not in dict(FollowUpVisit.OUTCOME_CHOICES) or outcome == FollowUpVisit.PENDING:
        raise Refused("outcome", "outcome_invalid", "请选择回访结果。")
    if outcome != FollowUpVisit.REACHED:
        satisfaction = None
    elif satisfaction is None or not 1 <= satisfaction <= 5:
        raise Refused("satisfaction", "satisfaction_required", "接通后请记录满意度（1–5）。")
    visit.outcome, visit.satisfaction, visit.notes = outcome, satisfaction, notes.strip()
    visit.called_by, visit.called_at = user, timezone.now()
    visit.save()
    return visit


def populations_import(*, program: Program, year: int, filename: str, data: bytes) -> int:
    """Replace the year's district populations from a file: all rows or none."""
    try:
        rows = tabular.read_table(filename, data, required=POPULATION_COLUMNS, max_rows=MAX_POPULATION_ROWS)
    except tabular.TableInvalid as exc:
        raise Refused("file", "file_invalid", exc.message) from None
    errors, items = [], []
    for number, row in enumerate(rows, start=2):
        code, name, eligible = (row.get(c, "").strip() for c in POPULATION_COLUMNS)
        if not (code.isdigit() and len(code) == 6):
            errors.append(f"第{number}行：行政区划码应为6位数字")
        elif not name:
            errors.append(f"第{number}行：请填写区县名称")
        elif not eligible.isdigit():
            errors.append(f"第{number}行：基本医保参保人数应为非负整数")
        else:
            items.append(DistrictPopulation(program=program, year=year, region_code=code, name=name,
                                            eligible=int(eligible)))
    if errors:
        raise Refused("file", "rows_invalid", "；".join(errors[:20]) + ("……" if len(errors) > 20 else ""))
    try:
        with transaction.atomic():
            DistrictPopulation.objects.filter(program=program, year=year).delete()
            DistrictPopulation.objects.bulk_create(items)
    except IntegrityError:
        raise Refused("file", "duplicate_district", "文件中有重复的行政区划码。") from None
    selectors.figures_forget(program)
    return len(items)
