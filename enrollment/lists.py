"""Beneficiary lists: upload, validation, fixing, confirming into one order, issuing.

A list is uploaded (the file is read at once, so a bad file is refused whole and nothing is kept),
validated row by row in a Celery task in batches (ID check digit, name, duplicates within the file,
people already covered this product year through any channel, base insurance through the registry,
one registry request and a handful of queries per batch), fixed or trimmed by the organization, and
confirmed into one order for its valid rows. Confirming inserts the policies with ON CONFLICT DO
NOTHING under the one-live-policy constraint: a person covered meanwhile through any channel is
reported on the row and not charged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from enrollment import cover, idnumber, midyear, quotas, registry, selectors, targeting
from enrollment.models import (
    BeneficiaryList,
    BeneficiaryRow,
    Campaign,
    CampaignKind,
    Channel,
    Consent,
    ConsentText,
    Order,
    Organization,
    Person,
    Plan,
    Policy,
    Relation,
    Resident,
    TargetRule,
)
from enrollment.organizations import Refused, _number, _require, _require_approved
from portal import crypto, tabular

logger = logging.getLogger(__name__)

NAME, ID_NUMBER, PHONE = "姓名", "身份证号", "手机号"
MAX_ROWS = 50_000
MAX_BYTES = 20 * 1024 * 1024
BATCH = 1000
# Who buys for its own people without a campaign (单位统一投保): employers and collectives (the notice).
GROUP_PURCHASERS = ("employer", "collective")
COLUMNS = (NAME, ID_NUMBER)
TEMPLATE_HEADER = [NAME, ID_NUMBER, PHONE]


# --- Beneficiary lists: upload and validation ------------------------------------------------------


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """The file's rows, or tabular.TableInvalid with one sentence for the whole file."""
    return tabular.read_table(filename, data, required=COLUMNS, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)


def template_file(fmt: str) -> bytes:
    example = [["张桂兰", "620602197505201231", "13800000000"]]
    if fmt == "xlsx":
        return tabular.to_xlsx(TEMPLATE_HEADER, example, title="参保名单")
    return tabular.to_csv(TEMPLATE_HEADER, example)


def list_upload(*, resident: Resident, plan: Plan, filename: str, data: bytes,
                organization: Organization | None = None, campaign: Campaign | None = None,
                members_declared: bool = False) -> BeneficiaryList:
    """Keep the file and start its validation, or refuse (nothing kept). An employer or a collective
    uploads for its own people (group purchase); an organization uploads for one of its campaigns;
    anyone signed in may upload for a 献爱心 campaign open to individual donors. A campaign for its
    employees, members or served people needs the uploader's declaration (``members_declared``)."""
    if organization is not None:
        _require(resident, organization)
        _require_approved(organization)
        if campaign is not None and campaign.organizer_id != organization.pk:
            raise Refused("campaign", "campaign_not_ours", "只能为本单位发起的活动上传名单。")
        if campaign is None and organization.kind not in GROUP_PURCHASERS:
            raise Refused("campaign", "campaign_required", "单位统一投保限用工企业和集体经济组织为本单位职工、成员投保；"
                                                           "其他单位请发起“四心”活动，为活动名单投保。")
    elif campaign is None or campaign.kind != CampaignKind.XIANAI or campaign.organizer_id is not None:
        raise Refused("campaign", "campaign_required", "个人爱心人士可参与经办机构发起的“献爱心”活动，请选择活动。")
    if campaign is not None and campaign.target_rule == TargetRule.MEMBERS and not members_declared:
        raise Refused("members_declared", "declaration_required",
                      "本活动为本单位职工、成员或所联系服务对象投保：请申报名单人员均属此列。")
    if campaign is not None:
        plan = campaign.plan
    version = plan.version
    if not midyear.may_sell(version, timezone.localdate()):
        raise Refused("plan", "sales_closed", f"{version.name}当前不在投保期内。")
    try:
        rows = read_rows(filename, data)
    except tabular.TableInvalid as exc:
        raise Refused("file", "file_invalid", exc.message) from None
    if not rows:
        raise Refused("file", "file_empty", "文件中没有人员，请按模板填写后上传。")
    if campaign is not None:
        channel = Channel.CAMPAIGN
    elif organization.kind == "collective":
        channel = Channel.COLLECTIVE
    else:
        channel = Channel.EMPLOYER
    quota = _take_rows(organization=organization, resident=resident, rows=len(rows))
    try:
        return _keep_upload(resident=resident, plan=plan, filename=filename, data=data, organization=organization,
                            campaign=campaign, channel=channel, rows=len(rows),
                            members_declared=bool(members_declared and campaign is not None))
    except BaseException:
        quotas.give_back(quota, len(rows))
        raise


def _rows_quota(*, organization: Organization | None, resident: Resident) -> quotas.Quota:
    """Rows checked against the registry a day: an approved organization's large allowance, or an
    individual donor's small one (``LIST_ROWS_PER_ORGANIZATION_DAY`` / ``LIST_ROWS_PER_DONOR_DAY``)."""
    if organization is not None:
        return quotas.daily("list-rows-org", organization.pk, settings.LIST_ROWS_PER_ORGANIZATION_DAY)
    return quotas.daily("list-rows-donor", resident.pk, settings.LIST_ROWS_PER_DONOR_DAY)


def _take_rows(*, organization: Organization | None, resident: Resident, rows: int) -> quotas.Quota:
    quota = _rows_quota(organization=organization, resident=resident)
    if quotas.take(quota, amount=rows) is None:
        return quota
    left = max(quota.maximum - quotas.used(quota), 0)
    if organization is not None:
        raise Refused("file", "daily_cap", f"本单位今日名单校验人数已达上限（每日{quota.maximum}人，今日还可校验{left}人），"
                                           f"本名单{rows}人，请明日再上传或拆分后上传。")
    raise Refused("file", "daily_cap", f"个人爱心人士每日最多校验{quota.maximum}人（今日还可校验{left}人），本名单{rows}人。"
                                       "为更多人投保请通过经审核的单位（如慈善组织）办理。")


def _keep_upload(*, resident, plan, filename, data, organization, campaign, channel, rows,
                 members_declared) -> BeneficiaryList:
    with transaction.atomic():
        beneficiaries = BeneficiaryList(
            number=_number("L"), organization=organization, campaign=campaign, uploaded_by=resident,
            channel=channel, plan=plan, file_name=filename[:200], total_rows=rows, members_declared=members_declared)
        # Sealed with the field key ring; deleted after LIST_FILE_RETENTION_DAYS (list_files_purge).
        beneficiaries.file.save(f"{beneficiaries.number}.bin", ContentFile(crypto.encrypt_bytes(data)), save=False)
        beneficiaries.save()
        from enrollment import tasks

        transaction.on_commit(lambda: tasks.validate_beneficiary_list.delay(beneficiaries.pk))
    return beneficiaries


@dataclass
class RowCheck:
    name: str
    raw_id: str
    phone: str
    number: str = ""
    code: str = ""
    message: str = ""
    price: Decimal | None = None
    medical_assistance: bool = False
    insured_region: str = ""
    age: int | None = None  # on the cover start date

    def refuse(self, code: str, message: str) -> None:
        """The first code stays the row's (for systems); every message is told (for people)."""
        if not self.code:
            self.code, self.message = code, message
        elif message not in self.message:
            self.message += ("" if self.message.endswith(("。", "；")) else "；") + message


def _looks_numeric(value: str) -> bool:
    """An ID a spreadsheet turned into a number: 6.20602E+17, 6.206021975052E17 or 620602197505201000.0."""
    text = value.strip().upper()
    return "E+" in text or "E1" in text or (text.endswith(".0") and text[:-2].isdigit())


def _check_row(row: dict, plan: Plan, priced_on) -> RowCheck:
    """Every local check of one row, all of them (a row tells all its errors at once)."""
    check = RowCheck(name=row.get(NAME, "").strip(), raw_id=row.get(ID_NUMBER, "").strip(),
                     phone=row.get(PHONE, "").strip())
    parsed = None
    if _looks_numeric(check.raw_id):
        check.refuse("id_as_number", f"身份证号“{check.raw_id}”已被表格软件转成数字（科学计数法），原号码无法还原："
                                     "请把该列设置为“文本”格式后重新填写。")
    else:
        try:
            parsed = idnumber.parse(check.raw_id)
        except idnumber.IdNumberError as exc:
            check.refuse(exc.code, exc.message)
    if not check.name:
        check.refuse("name_required", "请填写姓名。")
    elif not selectors.NAME_PATTERN.match(check.name):
        check.refuse("name_invalid", "姓名应为2至30个汉字或字母，与身份证一致。")
    if check.phone and not (check.phone.isdigit() and len(check.phone) == 11 and check.phone.startswith("1")):
        check.refuse("phone_invalid", "手机号应为11位数字，可留空。")
    if parsed is not None:
        check.number = parsed.number
        check.age = parsed.age_on(priced_on)
        check.price = plan.price_for_age(check.age)
        if check.price is None:
            check.refuse("no_price", "该年龄暂无对应保费。")
    return check


def _masked(check: RowCheck) -> str:
    return idnumber.mask(check.number or check.raw_id)[:40]


def _covered(version, hashes: list[str]) -> set[str]:
    """Of these ID hashes, those already holding a live policy of ``version`` (through whichever
    channel: the list's owner learns only that, ``selectors.ALREADY_COVERED``)."""
    return set(Policy.objects.filter(version=version, status__in=Policy.LIVE, person__id_hash__in=hashes)
               .values_list("person__id_hash", flat=True))


def _finish(checks: list[RowCheck], version, seen: dict[str, int], first_row: int,
            campaign: Campaign | None = None) -> list[tuple[RowCheck, str]]:
    """Duplicates within the file, already covered, then the registry for what is left (batched),
    then the campaign's target rule. Returns each check with its ID hash ("" when the ID is not
    valid)."""
    hashed = []
    for offset, check in enumerate(checks):
        digest = crypto.blind_index(check.number) if check.number else ""
        if digest:
            if digest in seen:
                check.refuse("duplicate_in_file", f"与第{seen[digest]}行的身份证号重复。")
            else:
                seen[digest] = first_row + offset
        hashed.append((check, digest))
    candidates = [(c, d) for c, d in hashed if d and not c.code]
    covered = _covered(version, [d for _, d in candidates])
    for check, digest in candidates:
        if digest in covered:
            check.refuse(*selectors.ALREADY_COVERED)
    ask = [c for c, _ in candidates if not c.code]
    answers = registry.lookup_many([(c.number, c.name) for c in ask]) if ask else {}
    today = timezone.localdate()
    late = midyear.late_terms(version, today)  # past the sales window: mid-year joiners only
    for check in ask:
        verdict = registry.eligibility(version.program, answers[check.number])
        if not verdict.ok:
            check.refuse(*selectors.disclosed(verdict.code))
        elif late is not None and not midyear.qualifies(version.program, answers[check.number], today):
            check.refuse(*midyear.refusal(version))
        elif campaign is not None and not targeting.qualifies(campaign, age=check.age, answer=answers[check.number]):
            check.refuse(*targeting.NOT_TARGET)  # never which status or age
        else:  # the policy keeps the flag for the Weihai tilt; the list's owner never reads it
            check.message = selectors.ELIGIBLE_TEXT
            check.medical_assistance = answers[check.number].medical_assistance
            check.insured_region = answers[check.number].insured_region
            if late is not None:
                check.price = late.premium(check.price)
    return hashed


def _row_fields(check: RowCheck, digest: str) -> dict:
    """What a row keeps of its check (the ID encrypted, its hash and masked form; only masked
    when it is not a valid ID number)."""
    valid = not check.code
    return {
        "name": check.name[:60], "id_cipher": crypto.encrypt(check.number) if valid else "",
        "id_hash": digest if valid else "", "id_masked": _masked(check),
        "phone_cipher": crypto.encrypt(check.phone[:20]) if check.phone else "",
        "status": BeneficiaryRow.VALID if valid else BeneficiaryRow.INVALID, "code": check.code,
        "message": check.message[:300], "price": check.price if valid else None,
        "medical_assistance": check.medical_assistance, "insured_region": check.insured_region[:12],
    }


def _row(beneficiaries: BeneficiaryList, number: int, check: RowCheck, digest: str) -> BeneficiaryRow:
    return BeneficiaryRow(list=beneficiaries, row_number=number, **_row_fields(check, digest))


ROW_COLUMNS = ("name", "id_cipher", "id_hash", "id_masked", "phone_cipher", "status", "code", "message", "price",
               "medical_assistance", "insured_region")


def _rows_copy(list_id: int, first: int, hashed: list[tuple[RowCheck, str]]) -> None:
    """A batch of rows in one COPY (set-based: no model instance, no statement to parse)."""
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {BeneficiaryRow._meta.db_table} (list_id, row_number, {', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
        for offset, (check, digest) in enumerate(hashed):
            fields = _row_fields(check, digest)
            copy.write_row((list_id, first + offset, *(fields[column] for column in ROW_COLUMNS)))


def list_validate(*, list_id: int) -> str:
    """The Celery task's body. Safe to run again: a list already validated is left alone, and a run
    that died half-way starts over (its rows are replaced)."""
    beneficiaries = BeneficiaryList.objects.select_related("plan__version__program", "campaign").get(pk=list_id)
    if beneficiaries.status != BeneficiaryList.VALIDATING:
        return beneficiaries.status
    plan = selectors.plan_with_config(product=beneficiaries.plan.version.slug, plan=beneficiaries.plan.code)
    version = plan.version
    if not beneficiaries.file:
        return _fail(beneficiaries, FILE_GONE)
    with beneficiaries.file.open("rb") as handle:
        data = crypto.decrypt_bytes(handle.read())
    try:
        rows = read_rows(beneficiaries.file_name, data)
    except tabular.TableInvalid as exc:  # the file was read at upload; only a changed file gets here
        return _fail(beneficiaries, exc.message)
    BeneficiaryRow.objects.filter(list=beneficiaries).delete()
    BeneficiaryList.objects.filter(pk=list_id).update(processed_rows=0, total_rows=len(rows), failure="")
    seen: dict[str, int] = {}
    priced_on = midyear.pricing_day(version, timezone.localdate())  # once for the whole list
    for start in range(0, len(rows), BATCH):
        checks = [_check_row(row, plan, priced_on) for row in rows[start:start + BATCH]]
        try:
            hashed = _finish(checks, version, seen, first_row=start + 2, campaign=beneficiaries.campaign)
        except registry.RegistryUnavailable:
            return _fail(beneficiaries, "医保参保信息查询暂时不可用，校验未完成。请稍后点击“重新校验”。")
        _rows_copy(list_id, start + 2, hashed)
        BeneficiaryList.objects.filter(pk=list_id).update(processed_rows=start + len(checks))
    BeneficiaryList.objects.filter(pk=list_id, status=BeneficiaryList.VALIDATING).update(
        status=BeneficiaryList.VALIDATED)
    logger.info("beneficiary list %s validated: %d rows", beneficiaries.number, len(rows))
    return BeneficiaryList.VALIDATED


FILE_GONE = "名单文件已按保存期限删除，请重新上传名单。"


def list_files_purge(*, now=None) -> int:
    """Delete the uploaded files of lists that are done with them, ``LIST_FILE_RETENTION_DAYS``
    after: a list confirmed into an order that was paid (issued) or closed unpaid, counted from
    the confirmation; a list left unconfirmed (待确认, 校验未完成), counted from the upload. The rows
    keep what the list needs (IDs encrypted); the file is only ever read to validate."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.LIST_FILE_RETENTION_DAYS)
    done = (Q(status=BeneficiaryList.ORDERED, confirmed_at__lt=cutoff) & ~Q(order__status=Order.PENDING)) | Q(
        status__in=(BeneficiaryList.VALIDATED, BeneficiaryList.FAILED), created_at__lt=cutoff)
    purged = 0
    for beneficiaries in BeneficiaryList.objects.filter(done).exclude(file="").only("pk", "number", "file"):
        beneficiaries.file.delete(save=False)
        BeneficiaryList.objects.filter(pk=beneficiaries.pk).update(file="")
        purged += 1
    if purged:
        logger.info("%d beneficiary list files deleted after their retention", purged)
    return purged


def _fail(beneficiaries: BeneficiaryList, message: str) -> str:
    BeneficiaryList.objects.filter(pk=beneficiaries.pk).update(status=BeneficiaryList.FAILED, failure=message)
    return BeneficiaryList.FAILED


def list_revalidate(*, beneficiaries: BeneficiaryList, by: Resident) -> None:
    """Start again after the registry could not be reached."""
    _may_edit(beneficiaries, by)
    with transaction.atomic():
        updated = BeneficiaryList.objects.filter(pk=beneficiaries.pk, status=BeneficiaryList.FAILED).update(
            status=BeneficiaryList.VALIDATING, failure="", processed_rows=0)
        if updated:
            from enrollment import tasks

            transaction.on_commit(lambda: tasks.validate_beneficiary_list.delay(beneficiaries.pk))


def _may_edit(beneficiaries: BeneficiaryList, by: Resident, *, manager: bool = False) -> None:
    if beneficiaries.organization_id:
        _require(by, beneficiaries.organization, manager=manager)
    elif beneficiaries.uploaded_by_id != by.pk:
        raise Refused("list", "not_yours", "这不是您上传的名单。")


def row_fix(*, beneficiaries: BeneficiaryList, row_id: int, by: Resident, name: str, id_number: str,
            phone: str = "") -> BeneficiaryRow:
    """Correct one row and check it again at once (same checks as the task)."""
    _may_edit(beneficiaries, by)
    with transaction.atomic():
        locked = BeneficiaryList.objects.select_for_update().get(pk=beneficiaries.pk)
        if locked.status != BeneficiaryList.VALIDATED:
            raise Refused("list", "list_closed", "名单已确认下单或仍在校验中，不能修改。")
        row = BeneficiaryRow.objects.select_for_update().get(list=locked, pk=row_id)
        plan = selectors.plan_with_config(product=locked.plan.version.slug, plan=locked.plan.code)
        _take_rows(organization=locked.organization, resident=locked.uploaded_by, rows=1)
        check = _check_row({NAME: name, ID_NUMBER: id_number, PHONE: phone}, plan,
                           midyear.pricing_day(plan.version, timezone.localdate()))
        seen = {r.id_hash: r.row_number for r in locked.rows.filter(status=BeneficiaryRow.VALID).exclude(pk=row.pk)
                .only("id_hash", "row_number")}
        try:
            (check, digest), = _finish([check], plan.version, seen, first_row=row.row_number, campaign=locked.campaign)
        except registry.RegistryUnavailable:
            raise Refused("registry", "registry_unavailable", "医保参保信息查询暂时不可用，请稍后再试。") from None
        fresh = _row(locked, row.row_number, check, digest)
        fresh.pk = row.pk
        fresh.save()
        return fresh


def row_drop(*, beneficiaries: BeneficiaryList, row_id: int, by: Resident, drop: bool = True) -> BeneficiaryRow:
    """Leave a row out of the order (or take it back: it is checked again)."""
    _may_edit(beneficiaries, by)
    with transaction.atomic():
        locked = BeneficiaryList.objects.select_for_update().get(pk=beneficiaries.pk)
        if locked.status != BeneficiaryList.VALIDATED:
            raise Refused("list", "list_closed", "名单已确认下单或仍在校验中，不能修改。")
        row = BeneficiaryRow.objects.select_for_update().get(list=locked, pk=row_id)
        if drop:
            row.status, row.code, row.message = BeneficiaryRow.DROPPED, "dropped", "已从本次投保中剔除"
            row.save(update_fields=["status", "code", "message"])
            return row
    if row.status != BeneficiaryRow.DROPPED:
        return row
    return row_fix(beneficiaries=beneficiaries, row_id=row_id, by=by, name=row.name,
                   id_number=row.id_number or row.id_masked, phone=row.phone)


def row_cancel(*, beneficiaries: BeneficiaryList, row_id: int, by: Resident) -> BeneficiaryRow:
    """The payer (a manager of the organization, or the donor) cancels one issued row's policy before
    cover starts; the premium goes back the way it was paid, and the row says so in the same
    transaction, so the list and the policy always agree."""
    from enrollment import billing

    _may_edit(beneficiaries, by, manager=True)
    with transaction.atomic():
        row = BeneficiaryRow.objects.select_for_update(of=("self",)).select_related("policy").filter(
            list=beneficiaries, pk=row_id).first()
        if row is None or row.status != BeneficiaryRow.ISSUED or row.policy is None:
            raise Refused("row", "not_issued", "只有已出单的人员可以退保。")
        try:
            billing.policy_cancel(policy=row.policy, beneficiaries=beneficiaries)
        except billing.PaymentRefused as refused:
            raise Refused("row", refused.code, refused.message) from None
        row.status, row.code, row.message = BeneficiaryRow.CANCELLED, "cancelled", "已退保，保费退回出资方"
        row.save(update_fields=["status", "code", "message"])
    return row


# --- Confirming: one order for the valid rows ----------------------------------------------------------


def _persons(rows: list[BeneficiaryRow]) -> dict[str, Person]:
    """Persons for these rows by ID hash, creating the missing ones in bulk."""
    hashes = [r.id_hash for r in rows]
    found = {p.id_hash: p for p in Person.objects.filter(id_hash__in=hashes)}
    missing = []
    for row in rows:
        if row.id_hash not in found:
            person = Person(name=row.name)
            person.set_id_number(row.id_number)
            found[row.id_hash] = person
            missing.append(person)
    if missing:
        Person.objects.bulk_create(missing, ignore_conflicts=True, batch_size=2000)
        found.update({p.id_hash: p for p in Person.objects.filter(id_hash__in=[p.id_hash for p in missing])})
    return found


def list_confirm_start(*, beneficiaries: BeneficiaryList, by: Resident, declared: bool,
                       ip_address: str | None = None) -> None:
    """The manager confirms: the list is marked 下单中 and the order is made by a Celery task
    (``list_confirm_run``), so the page answers at once and shows a progress bar."""
    _may_edit(beneficiaries, by, manager=True)
    if not declared:
        raise Refused("declared", "declaration_required",
                      "请确认已告知被保险人保险条款并取得其同意（未成年人已取得监护人同意）。")
    with transaction.atomic():
        locked = BeneficiaryList.objects.select_for_update(of=("self",)).select_related("plan__version").get(
            pk=beneficiaries.pk)
        if locked.status != BeneficiaryList.VALIDATED:
            raise Refused("list", "list_closed", "名单已确认下单或仍在校验中。")
        _require_on_sale(locked.plan.version)
        if not locked.rows.filter(status=BeneficiaryRow.VALID).exists():
            raise Refused("list", "no_valid_rows", "名单中没有可投保的人员。")
        BeneficiaryList.objects.filter(pk=locked.pk).update(
            status=BeneficiaryList.CONFIRMING, confirmed_by=by, confirm_ip=ip_address, failure="")
        from enrollment import tasks

        transaction.on_commit(lambda: tasks.confirm_beneficiary_list.delay(locked.pk))


def _require_on_sale(version) -> None:
    if not midyear.may_sell(version, timezone.localdate()):
        raise Refused("list", "sales_closed", f"{version.name}当前不在投保期内。")


def confirm_progress_key(list_id: int) -> str:
    return f"list-confirm-progress:{list_id}"


def list_confirm_run(*, list_id: int) -> Order | None:
    """The confirm task's body: one pending order for the list's valid rows, in one transaction.
    People covered meanwhile through any channel are refused on their row and not charged; the rest
    are reserved until payment. Safe to run again: only a list still 下单中 is worked on. A refusal
    (sales closed, everyone covered meanwhile) puts the list back to 待确认 with the reason."""
    try:
        with transaction.atomic():
            locked = BeneficiaryList.objects.select_for_update(of=("self",)).select_related(
                "plan__version__program", "campaign", "organization", "confirmed_by").get(pk=list_id)
            if locked.status != BeneficiaryList.CONFIRMING:  # done already, or never asked
                return locked.order
            order = _confirm(locked)
    except Refused as refused:
        BeneficiaryList.objects.filter(pk=list_id, status=BeneficiaryList.CONFIRMING).update(
            status=BeneficiaryList.VALIDATED, failure=refused.message[:300])
        raise
    if order is None:  # everyone covered meanwhile: the rows say so, the list is back to 待确认
        raise Refused("list", "all_covered", ALL_COVERED)
    return order


def list_confirm(*, beneficiaries: BeneficiaryList, by: Resident, declared: bool,
                 ip_address: str | None = None) -> Order:
    """Confirm and make the order at once, in this process (the page goes through the task)."""
    list_confirm_start(beneficiaries=beneficiaries, by=by, declared=declared, ip_address=ip_address)
    return list_confirm_run(list_id=beneficiaries.pk)


CONFIRM_CHUNK = 5000
ALL_COVERED = "名单中的人员本年度均已参保，无需下单。"


def _confirm(locked: BeneficiaryList) -> Order | None:
    from django.core.cache import cache

    version = locked.plan.version
    _require_on_sale(version)
    rows = list(locked.rows.filter(status=BeneficiaryRow.VALID).only(
        "id", "list_id", "name", "id_cipher", "id_hash", "price", "medical_assistance", "insured_region"))
    if not rows:
        raise Refused("list", "no_valid_rows", "名单中没有可投保的人员。")
    progress = confirm_progress_key(locked.pk)
    cache.set(progress, (0, len(rows)), timeout=3600)
    persons = _persons(rows)
    years = selectors.prior_consecutive_years_many(person_ids=[p.pk for p in persons.values()], version=version)
    ttl = timedelta(hours=settings.GROUP_ORDER_TTL_HOURS)
    by = locked.confirmed_by
    order = Order.objects.create(number=_number("G"), version=version, resident=by, channel=locked.channel,
                                 organization=locked.organization, campaign=locked.campaign,
                                 amount=Decimal("0.00"), expires_at=timezone.now() + ttl)
    prefix = version.program.code[:2].upper()
    cover_start = cover.start_for(version=version, paid_on=timezone.localdate())  # fixed again when paid
    for start in range(0, len(rows), CONFIRM_CHUNK):
        Policy.objects.bulk_create([
            Policy(number=f"{prefix}{order.number[1:]}{i:05d}", person=persons[row.id_hash], version=version,
                   plan=locked.plan, order=order, channel=locked.channel, campaign=locked.campaign,
                   relation=Relation.OTHER, premium=row.price, consecutive_years=years.get(persons[row.id_hash].pk, 0),
                   medical_assistance=row.medical_assistance, insured_region=row.insured_region,
                   coverage_start=cover_start,
                   coverage_end=version.coverage_end)
            for i, row in enumerate(rows[start:start + CONFIRM_CHUNK], start=start)
        ], ignore_conflicts=True, batch_size=2000)  # the one-live-policy constraint decides every race
        cache.set(progress, (min(start + CONFIRM_CHUNK, len(rows)), len(rows)), timeout=3600)
    policies = {p.person_id: p for p in Policy.objects.filter(order=order).only("id", "person_id", "premium")}
    lost = [row for row in rows if persons[row.id_hash].pk not in policies]
    if lost:
        for row in lost:
            row.status, row.code = BeneficiaryRow.REFUSED, selectors.ALREADY_COVERED[0]
            row.message = f"确认时该人员{selectors.ALREADY_COVERED[1]}，本单不收取其保费。"
        BeneficiaryRow.objects.bulk_update(lost, ["status", "code", "message"], batch_size=2000)
    if not policies:  # the rows keep why; no order is left behind
        order.delete()
        BeneficiaryList.objects.filter(pk=locked.pk).update(status=BeneficiaryList.VALIDATED, failure=ALL_COVERED)
        return None
    _keep(order, locked, policies, by, locked.confirm_ip)
    return order


def _keep(order: Order, locked: BeneficiaryList, policies: dict, by: Resident, ip_address: str | None) -> None:
    """The order's amount, each row's policy, the consents, and the list closed."""
    with connection.cursor() as cursor:  # each kept row points at its policy, in one statement
        cursor.execute(
            "UPDATE enrollment_beneficiaryrow r SET policy_id = p.id FROM enrollment_policy p "
            "JOIN enrollment_person pe ON pe.id = p.person_id "
            "WHERE p.order_id = %s AND r.list_id = %s AND r.status = 'valid' AND r.id_hash = pe.id_hash",
            [order.pk, locked.pk])
    order.amount = sum((p.premium for p in policies.values()), Decimal("0.00"))
    order.save(update_fields=["amount"])
    texts = [ConsentText.objects.filter(kind=kind).latest() for kind in (ConsentText.TERMS, ConsentText.PRIVACY)]
    Consent.objects.bulk_create([
        Consent(person_id=p.person_id, text=text, given_by=by, policy=p, ip_address=ip_address)
        for p in policies.values() for text in texts
    ], batch_size=2000)
    locked.status, locked.order, locked.confirmed_at = BeneficiaryList.ORDERED, order, timezone.now()
    locked.save(update_fields=["status", "order", "confirmed_at"])


def list_issued(*, order: Order) -> int:
    """After payment: the list's rows become issued, and each beneficiary is told by SMS (task)."""
    beneficiaries = BeneficiaryList.objects.filter(order=order).first()
    if beneficiaries is None:
        return 0
    count = BeneficiaryRow.objects.filter(list=beneficiaries, policy__isnull=False).update(
        status=BeneficiaryRow.ISSUED, code="", message="已出单")
    from enrollment import tasks

    transaction.on_commit(lambda: tasks.notify_beneficiaries.delay(beneficiaries.pk))
    return count


def beneficiaries_notify(*, list_id: int) -> int:
    """SMS to each issued row: the phone on the list, else the person's own account."""
    from portal import sms

    beneficiaries = BeneficiaryList.objects.select_related("plan__version", "organization", "campaign").get(
        pk=list_id)
    payer = beneficiaries.organization.name if beneficiaries.organization_id else "爱心人士"
    accounts = {r.person_id: r.phone for r in Resident.objects.filter(
        person__policies__order_id=beneficiaries.order_id)}
    sent = 0
    for row in beneficiaries.rows.filter(status=BeneficiaryRow.ISSUED).select_related("policy"):
        phone = row.phone or accounts.get(row.policy.person_id)
        if not phone:
            continue
        try:
            sms.send(phone=phone, template="policy_gifted", payer=payer, name=row.name,
                     product=beneficiaries.plan.version.name, policy=row.policy.number)
            sent += 1
        except sms.SmsError:
            logger.warning("sms to beneficiary of list %s row %s failed", beneficiaries.number, row.row_number)
    return sent
