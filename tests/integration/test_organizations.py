"""Organizations buying for others: registration, list validation in the worker's task body,
fixing and confirming, payment by bank transfer, and the races the one-live-policy rule decides."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enrollment import billing, lists, organizations, services
from enrollment.models import (
    BeneficiaryList,
    BeneficiaryRow,
    Campaign,
    CampaignKind,
    Order,
    Organization,
    OrganizationMember,
    Plan,
    Policy,
)
from enrollment.selectors import PersonInput
from portal.crypto import blind_index
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from portal.simulators.models import RosterEntry
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    UNINSURED_ID,
    active_policy,
    add_member,
    make_id,
    make_resident,
    roster,
)

IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"
CREDIT_CODE = "91620600MA71X0AB3Q"  # check digit computed by python-stdnum (uscc)
WORKER_A = make_id("62060219800101011")
WORKER_B = make_id("62060219810202022")
WORKER_C = make_id("62060219820303033")

pytestmark = pytest.mark.django_db


def valid_code(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17)


@pytest.fixture(autouse=True)
def _window(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        yield


@pytest.fixture
def employer(products):
    for id_number, name in ((WORKER_A, "赵一"), (WORKER_B, "钱二"), (WORKER_C, "孙三"), (SELF_ID, "张桂兰"),
                            (MOTHER_ID, "李秀英")):
        roster(id_number, name)
    manager = make_resident(phone="13900000001", name=None, id_number=None)
    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code=valid_code("91620600MA71X0AB3"), kind="employer",
        contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    return organization, manager


def csv_bytes(rows, header=("姓名", "身份证号", "手机号"), encoding="utf-8") -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def upload(organization, manager, data, filename="名单.csv", campaign=None, members_declared=False):
    plan = Plan.objects.get(version__slug="wuwei-2025", code="basic")
    return lists.list_upload(resident=manager, organization=organization, campaign=campaign, plan=plan,
                             filename=filename, data=data, members_declared=members_declared)


def validated(organization, manager, rows, **kwargs) -> BeneficiaryList:
    beneficiaries = upload(organization, manager, csv_bytes(rows), **kwargs)
    assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.VALIDATED
    beneficiaries.refresh_from_db()
    return beneficiaries


def outcome(beneficiaries) -> dict[int, tuple[str, str]]:
    return {r.row_number: (r.status, r.code) for r in beneficiaries.rows.all()}


# --- Registration ---------------------------------------------------------------------------------------


def test_a_credit_code_with_a_wrong_check_digit_is_refused_by_name(products):
    resident = make_resident(name=None, id_number=None)
    code = valid_code("91620600MA71X0AB3")
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(organizations.Refused) as refused:
        organizations.organization_register(resident=resident, name="某公司", credit_code=wrong, kind="employer",
                                            contact_name="马", contact_phone="1")
    assert (refused.value.field, refused.value.code) == ("credit_code", "credit_code_invalid")
    assert not Organization.objects.exists()


def test_registering_makes_a_pending_organization_managed_by_its_registrant(products):
    resident = make_resident(name=None, id_number=None)
    organization = organizations.organization_register(
        resident=resident, name="凉州区总工会", credit_code=valid_code("81620602MC1234567").lower(),
        kind="trade_union", contact_name="王", contact_phone="0935-1")
    assert organization.status == Organization.PENDING and organization.credit_code.isupper()
    assert organizations.membership(resident, organization).role == OrganizationMember.MANAGER
    with pytest.raises(organizations.Refused) as refused:
        organizations.organization_register(resident=make_resident(phone="13800000009", name=None, id_number=None),
                                            name="重复", credit_code=organization.credit_code, kind="other",
                                            contact_name="李", contact_phone="1")
    assert refused.value.code == "credit_code_taken"


def test_an_organization_not_yet_approved_cannot_upload(employer):
    organization, manager = employer
    organization.status = Organization.PENDING
    organization.save()
    with pytest.raises(organizations.Refused) as refused:
        upload(organization, manager, csv_bytes([("赵一", WORKER_A, "")]))
    assert refused.value.code == "not_approved" and not BeneficiaryList.objects.exists()


def test_the_tax_room_is_five_percent_of_payroll_less_what_was_spent():
    room = organizations.tax_room(payroll=Decimal("1234567.89"), spent=Decimal("1000.00"), price=Decimal("69.00"))
    assert room == {"cap": Decimal("61728.39"), "room": Decimal("60728.39"), "people": 880}
    assert organizations.tax_room(payroll=Decimal("1000.00"), spent=Decimal("80.00"))["room"] == Decimal("0.00")


# --- Validation ---------------------------------------------------------------------------------------------


def test_each_row_gets_its_own_outcome(employer):
    organization, manager = employer
    active_policy(make_resident(), ("张桂兰", SELF_ID, "self"))
    rows = [
        ("赵一", WORKER_A, "13700000001"),          # row 2: valid
        ("钱二", WORKER_B[:-1] + ("0" if WORKER_B[-1] != "0" else "1"), ""),  # 3: check digit
        ("孙三", "6.20602E+17", ""),                  # 4: a spreadsheet number
        ("赵一", WORKER_A, ""),                       # 5: duplicate of row 2
        ("未参保", UNINSURED_ID, ""),                  # 6: no base insurance
        ("张桂兰", SELF_ID, ""),                       # 7: already covered this year
        ("孙三3", WORKER_C, ""),                      # 8: a name with a digit
        ("李秀英", MOTHER_ID, "12345"),                # 9: a bad phone number
    ]
    beneficiaries = validated(organization, manager, rows)
    assert outcome(beneficiaries) == {
        2: ("valid", ""), 3: ("invalid", "id_checksum"), 4: ("invalid", "id_as_number"),
        5: ("invalid", "duplicate_in_file"), 6: ("invalid", "not_eligible"), 7: ("invalid", "already_covered"),
        8: ("invalid", "name_invalid"), 9: ("invalid", "phone_invalid"),
    }
    row4 = beneficiaries.rows.get(row_number=4)
    assert "科学计数法" in row4.message and "6.20602E+17" in row4.message
    assert "第2行" in beneficiaries.rows.get(row_number=5).message
    valid = beneficiaries.rows.get(row_number=2)
    assert valid.id_number == WORKER_A and WORKER_A not in valid.id_cipher and valid.id_masked.count("*") == 8
    assert beneficiaries.processed_rows == beneficiaries.total_rows == 8


def test_queries_grow_with_batches_not_rows(employer, monkeypatch):
    organization, manager = employer
    monkeypatch.setattr(lists, "BATCH", 50)
    people = [(f"职工{chr(0x4e00 + n)}", make_id(f"620602198{n // 300 + 1}01{n % 28 + 1:02d}{n % 1000:03d}"[:17]), "")
              for n in range(200)]

    def count(rows):
        beneficiaries = upload(organization, manager, csv_bytes(rows))
        with CaptureQueriesContext(connection) as queries:
            lists.list_validate(list_id=beneficiaries.pk)
        return len(queries)

    small, large = count(people[:50]), count(people)
    assert large <= small + 3 * 6  # three more batches, a handful of queries each, not 150 more rows


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding_is_read(employer, encoding):
    organization, manager = employer
    beneficiaries = upload(organization, manager, csv_bytes([("赵一", WORKER_A, "")], encoding=encoding))
    lists.list_validate(list_id=beneficiaries.pk)
    assert outcome(beneficiaries) == {2: ("valid", "")}
    assert beneficiaries.rows.get().name == "赵一"


def test_xlsx_is_read_and_a_numeric_id_cell_is_named_not_guessed(employer):
    from openpyxl import Workbook

    organization, manager = employer
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号"])
    sheet.append(["赵一", WORKER_A, None])
    sheet.append(["钱二", float(WORKER_B[:17] + "0"), None])
    out = io.BytesIO()
    book.save(out)
    beneficiaries = upload(organization, manager, out.getvalue(), filename="名单.xlsx")
    lists.list_validate(list_id=beneficiaries.pk)
    assert outcome(beneficiaries) == {2: ("valid", ""), 3: ("invalid", "id_as_number")}


@pytest.mark.parametrize(("data", "filename", "words"), [
    ("姓名,身份证号\n赵一,1\n".encode("utf-16"), "名单.csv", "编码"),
    (b"name,id\n", "名单.csv", "身份证号"),
    (b"x", "名单.txt", "CSV 或 XLSX"),
    (b"%PK broken", "名单.xlsx", "XLSX"),
    ("姓名,身份证号\n".encode() + "赵一,1\n".encode() * 50_001, "名单.csv", "50000"),
])
def test_a_bad_file_is_refused_whole_and_nothing_is_kept(employer, data, filename, words):
    organization, manager = employer
    with pytest.raises(organizations.Refused) as refused:
        upload(organization, manager, data, filename=filename)
    assert refused.value.field == "file" and words in refused.value.message
    assert not BeneficiaryList.objects.exists()


def test_an_oversized_upload_is_refused(employer, monkeypatch):
    organization, manager = employer
    monkeypatch.setattr(lists, "MAX_BYTES", 1024 * 1024)
    with pytest.raises(organizations.Refused) as refused:
        upload(organization, manager, b"x" * (1024 * 1024 + 1))
    assert refused.value.field == "file" and "1MB" in refused.value.message
    assert not BeneficiaryList.objects.exists()


def test_an_unreachable_registry_stops_the_list_with_a_retry(employer, monkeypatch):
    from enrollment import registry

    organization, manager = employer
    beneficiaries = upload(organization, manager, csv_bytes([("赵一", WORKER_A, "")]))

    def down(people):
        raise registry.RegistryUnavailable("timeout")

    monkeypatch.setattr(registry, "lookup_many", down)
    assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.FAILED
    beneficiaries.refresh_from_db()
    assert "重新校验" in beneficiaries.failure
    monkeypatch.undo()
    lists.list_revalidate(beneficiaries=beneficiaries, by=manager)
    assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.VALIDATED
    assert outcome(beneficiaries) == {2: ("valid", "")}


def test_running_the_task_again_changes_nothing(employer):
    organization, manager = employer
    beneficiaries = validated(organization, manager, [("赵一", WORKER_A, "")])
    assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.VALIDATED
    assert beneficiaries.rows.count() == 1


# --- Fixing, confirming, paying -------------------------------------------------------------------------------


def test_fix_drop_confirm_and_pay_by_bank_transfer(employer):
    organization, manager = employer
    beneficiaries = validated(organization, manager, [
        ("赵一", WORKER_A, "13700000001"), ("钱二", "6.20602E+17", "13700000002"), ("孙三", WORKER_C, "")])
    bad = beneficiaries.rows.get(row_number=3)
    fixed = lists.row_fix(beneficiaries=beneficiaries, row_id=bad.pk, by=manager, name="钱二",
                                  id_number=WORKER_B, phone="13700000002")
    assert (fixed.status, fixed.price) == ("valid", Decimal("69.00"))
    dropped = lists.row_drop(beneficiaries=beneficiaries, row_id=beneficiaries.rows.get(row_number=4).pk,
                                     by=manager)
    assert dropped.status == "dropped"

    with pytest.raises(organizations.Refused) as refused:
        lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=False)
    assert refused.value.field == "declared" and not Order.objects.exists()
    order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    assert order.amount == Decimal("138.00") and order.organization == organization
    assert order.channel == "employer" and order.status == Order.PENDING
    assert sorted(order.policies.values_list("status", flat=True)) == ["pending", "pending"]
    assert order.policies.get(person__name="钱二").consents.count() == 2

    staff = make_resident(phone="13900000009", name=None, id_number=None).user
    with pytest.raises(billing.PaymentRefused) as wrong:
        billing.bank_transfer_confirm(order=order, reference="BANK-1", amount=Decimal("100.00"), user=staff)
    assert wrong.value.code == "amount_mismatch"
    assert billing.bank_transfer_confirm(order=order, reference="BANK-1", amount=Decimal("138.00"),
                                         user=staff) == "applied"
    assert billing.bank_transfer_confirm(order=order, reference="BANK-1", amount=Decimal("138.00"),
                                         user=staff) == "replay"
    order.refresh_from_db()
    assert order.status == Order.PAID and order.payments.count() == 1
    assert set(order.policies.values_list("status", flat=True)) == {"active"}
    assert outcome(beneficiaries) == {2: ("issued", ""), 3: ("issued", ""), 4: ("dropped", "dropped")}

    assert lists.beneficiaries_notify(list_id=beneficiaries.pk) == 2
    texts = list(SmsMessage.objects.filter(template_id=template_id("policy_gifted")).values_list("phone_hash", "body"))
    assert {phone for phone, _ in texts} == {blind_index("13700000001"), blind_index("13700000002")}
    assert all("武威市示例建材有限公司" in text for _, text in texts)


def test_the_uploaded_list_is_kept_encrypted_and_deleted_after_its_retention(employer, settings, tmp_path):
    organization, manager = employer
    settings.LIST_FILE_RETENTION_DAYS = 30
    issued = validated(organization, manager, [("赵一", WORKER_A, "13700000001")])
    stored = (tmp_path / issued.file.name).read_bytes()
    assert WORKER_A.encode() not in stored and "赵一".encode() not in stored and b"13700000001" not in stored
    order = lists.list_confirm(beneficiaries=issued, by=manager, declared=True)
    abandoned = validated(organization, manager, [("钱二", WORKER_B, "")])
    pending = validated(organization, manager, [("孙三", WORKER_C, "")])
    lists.list_confirm(beneficiaries=pending, by=manager, declared=True)  # its order still waits for payment
    assert lists.list_files_purge() == 0  # within the retention, nothing goes
    billing.bank_transfer_confirm(order=order, reference="B1", amount=order.amount, user=manager.user)

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert lists.list_files_purge() == 2
    for beneficiaries, kept in ((issued, False), (abandoned, False), (pending, True)):
        name = beneficiaries.file.name
        beneficiaries.refresh_from_db()
        assert bool(beneficiaries.file) is kept and (tmp_path / name).exists() is kept
    assert issued.rows.get().id_number == WORKER_A  # the rows keep what the list needs
    BeneficiaryList.objects.filter(pk=abandoned.pk).update(status=BeneficiaryList.VALIDATING)
    assert lists.list_validate(list_id=abandoned.pk) == BeneficiaryList.FAILED  # says so, re-upload


def test_the_beneficiary_sees_the_policy_after_signing_in(employer):
    from enrollment import selectors

    organization, manager = employer
    beneficiaries = validated(organization, manager, [("赵一", WORKER_A, "")])
    order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    billing.bank_transfer_confirm(order=order, reference="B1", amount=order.amount, user=manager.user)
    worker = make_resident(phone="13700000001", name="赵一", id_number=WORKER_A)
    assert [p.channel for p in selectors.resident_policies(worker)] == ["employer"]


def test_a_campaign_list_counts_towards_the_campaign(employer):
    from enrollment import selectors

    organization, manager = employer
    campaign = organizations.campaign_create(
        organization=organization, by=manager, kind=CampaignKind.NUANREN, name="职工关爱",
        plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"), target_group="本单位职工",
        target_count=100, budget=Decimal("6900.00"), target_rule="members")
    beneficiaries = validated(organization, manager, [("李秀英", MOTHER_ID, "")], campaign=campaign,
                              members_declared=True)
    order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    assert order.channel == "campaign" and order.campaign == campaign
    billing.bank_transfer_confirm(order=order, reference="B2", amount=order.amount, user=manager.user)
    progress = selectors.campaigns_with_progress(Campaign.objects.filter(pk=campaign.pk)).get()
    assert (progress.people, progress.given) == (1, Decimal("69.00"))


def test_an_individual_donor_joins_only_an_open_xianai_campaign(employer):
    organization, manager = employer
    donor = make_resident(phone="13600000001", name=None, id_number=None)
    plan = Plan.objects.get(version__slug="wuwei-2025", code="basic")
    open_campaign = organizations.campaign_create(organization=None, by=None, kind=CampaignKind.XIANAI,
                                                  name="困难群众", plan=plan, target_group="医疗救助对象",
                                                  target_count=10, budget=Decimal("690.00"), target_rule="hardship",
                                                  hardship_statuses=["medical_assistance"])
    RosterEntry.objects.filter(name="赵一").update(medical_assistance=True)
    beneficiaries = lists.list_upload(resident=donor, campaign=open_campaign, plan=plan, filename="a.csv",
                                              data=csv_bytes([("赵一", WORKER_A, "")]))
    assert beneficiaries.organization is None and beneficiaries.channel == "campaign"
    lists.list_validate(list_id=beneficiaries.pk)
    order = lists.list_confirm(beneficiaries=beneficiaries, by=donor, declared=True)
    assert order.resident == donor and order.amount == Decimal("69.00")
    with pytest.raises(organizations.Refused) as agency_elders:  # 敬孝心 is run by civil affairs
        organizations.campaign_create(organization=None, by=None, kind=CampaignKind.JINGXIAO, name="敬老",
                                      plan=plan, target_group="老人", target_count=10, budget=Decimal("1.00"),
                                      target_rule="elderly", min_age=60)
    assert agency_elders.value.code == "organizer_not_allowed"


def test_an_operator_fixes_rows_but_only_a_manager_confirms(employer):
    organization, manager = employer
    operator = make_resident(phone="13900000002", name=None, id_number=None)
    add_member(organization, manager, operator)
    beneficiaries = validated(organization, operator, [("赵一", WORKER_A, "")])
    with pytest.raises(organizations.Refused) as refused:
        lists.list_confirm(beneficiaries=beneficiaries, by=operator, declared=True)
    assert refused.value.code == "manager_only" and not Order.objects.exists()
    stranger = make_resident(phone="13900000003", name=None, id_number=None)
    with pytest.raises(organizations.Refused):
        lists.row_drop(beneficiaries=beneficiaries, row_id=beneficiaries.rows.get().pk, by=stranger)


# --- Races (threads on PostgreSQL) ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_lists_and_the_person_himself_at_once_make_exactly_one_policy(products, settings, tmp_path):
    from django.db import connections

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    for id_number, name in ((WORKER_A, "赵一"), (WORKER_B, "钱二"), (SELF_ID, "张桂兰")):
        roster(id_number, name)
    uploaded, managers = [], []
    for n in range(2):
        manager = make_resident(phone=f"1390000001{n}", name=None, id_number=None)
        organization = organizations.organization_register(
            resident=manager, name=f"单位{n}", credit_code=valid_code(f"9162060{n}MA71X0AB3"), kind="employer",
            contact_name="马", contact_phone="1")
        organization.approve()
        organization.save()
        uploaded.append(validated(organization, manager, [("张桂兰", SELF_ID, ""), ("赵一", WORKER_A, "")]))
        managers.append(manager)
    himself = make_resident()
    plan = Plan.objects.get(version__slug="wuwei-2025", code="basic")

    def confirm(n):
        try:
            return lists.list_confirm(beneficiaries=uploaded[n], by=managers[n], declared=True).amount
        except organizations.Refused as refused:
            return refused.code
        finally:
            connections.close_all()

    def buy():
        try:
            return services.order_create(resident=himself, plan=plan, accepted={"terms", "privacy"},
                                         people=[PersonInput("张桂兰", SELF_ID, "self")]).amount
        except services.PurchaseRefused as refused:
            return refused.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(confirm, 0), pool.submit(confirm, 1), pool.submit(buy)]
        results = [f.result() for f in futures]

    assert Policy.objects.filter(person__id_masked__endswith=SELF_ID[-4:], status__in=Policy.LIVE).count() == 1
    assert Policy.objects.filter(person__name="赵一", status__in=Policy.LIVE).count() == 1
    # Whoever lost was told why and not charged for that person.
    refused_rows = BeneficiaryRow.objects.filter(status=BeneficiaryRow.REFUSED)
    assert all("本年度已参保" in row.message for row in refused_rows)
    for order in Order.objects.all():
        assert order.amount == sum(p.premium for p in order.policies.all())
    buy_won = isinstance(results[2], Decimal)
    assert refused_rows.filter(name="张桂兰").count() == (2 if buy_won else 1)
    assert refused_rows.filter(name="赵一").count() == 1
    assert buy_won or results[2] == "already_covered"
