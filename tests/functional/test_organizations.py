"""The organization's pages and the staff's admin for organizations, lists, bank transfers and the fund."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enrollment import billing, lists, organizations
from enrollment.models import (
    BeneficiaryList,
    Campaign,
    CharityFund,
    FundEntry,
    Order,
    Organization,
    Plan,
    Policy,
    Program,
)
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    add_member,
    login_as,
    make_id,
    make_resident,
    pay_on_provider,
    roster,
    staff_user,
)

pytestmark = pytest.mark.django_db
IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"
WORKER_A = make_id("62060219800101011")
WORKER_B = make_id("62060219810202022")


def valid_code(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17)


@pytest.fixture(autouse=True)
def _window(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with time_machine.travel(IN_SALES_WINDOW, tick=True):
        yield


@pytest.fixture
def manager(products):
    for id_number, name in ((WORKER_A, "赵一"), (WORKER_B, "钱二"), (SELF_ID, "张桂兰"), (MOTHER_ID, "李秀英")):
        roster(id_number, name)
    return make_resident()


@pytest.fixture
def employer(manager):
    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code=valid_code("91620600MA71X0AB3"), kind="employer",
        contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    return organization


def csv_upload(rows, name="名单.csv"):
    text = "姓名,身份证号,手机号\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_registering_an_organization_shows_it_pending(client, manager):
    login_as(client, manager.user)
    response = client.post(reverse("enrollment:org_register"), {
        "name": "凉州区总工会", "credit_code": "81620602MC1234567X", "kind": "trade_union", "contact_name": "王",
        "contact_phone": "0935-1"})
    assert response.status_code == 422 and "统一社会信用代码校验未通过" in response.content.decode()
    assert not Organization.objects.exists()
    response = client.post(reverse("enrollment:org_register"), {
        "name": "凉州区总工会", "credit_code": valid_code("81620602MC1234567"), "kind": "trade_union",
        "contact_name": "王", "contact_phone": "0935-1"}, follow=True)
    page = response.content.decode()
    assert "凉州区总工会" in page and "待审核" in page and "审核通过后才能上传名单" in page


def test_upload_progress_fix_confirm_pay_and_receipt(client, manager, employer):
    login_as(client, manager.user)
    response = client.post(f"{reverse('enrollment:list_new')}?org={employer.pk}", {
        "plan": Plan.objects.get(version__slug="wuwei-2025", code="basic").pk,
        "file": csv_upload([("赵一", WORKER_A, "13700000001"), ("钱二", "6.20602E+17", ""),
                            ("=HYPERLINK(\"http://x\")", MOTHER_ID, "")])})
    beneficiaries = BeneficiaryList.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("enrollment:list_detail",
                                                                            args=[beneficiaries.number])

    progress = client.get(reverse("enrollment:list_progress", args=[beneficiaries.number]), HTTP_HX_REQUEST="true")
    assert "正在校验" in progress.content.decode() and 'hx-trigger="every 1s"' in progress.content.decode()
    lists.list_validate(list_id=beneficiaries.pk)  # the worker's task body
    done = client.get(reverse("enrollment:list_progress", args=[beneficiaries.number]), HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Refresh"] == "true"

    page = client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).content.decode()
    assert "科学计数法" in page and 'data-count="valid">1<' in page and 'data-count="invalid">2<' in page
    assert WORKER_A not in page and WORKER_A[:6] + "********" + WORKER_A[-4:] in page

    report = client.get(reverse("enrollment:list_report", args=[beneficiaries.number]))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(report.content)).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names[2].startswith("'=HYPERLINK")  # a formula is never handed to a spreadsheet

    bad = beneficiaries.rows.get(row_number=3)
    fixed = client.post(reverse("enrollment:row_edit", args=[beneficiaries.number, bad.pk]),
                        {"action": "fix", "name": "钱二", "id_number": WORKER_B, "phone": ""}, HTTP_HX_REQUEST="true")
    assert fixed.status_code == 200 and 'data-status="valid"' in fixed.content.decode()
    formula = beneficiaries.rows.get(row_number=4)
    dropped = client.post(reverse("enrollment:row_edit", args=[beneficiaries.number, formula.pk]),
                          {"action": "drop"}, HTTP_HX_REQUEST="true")
    assert 'data-status="dropped"' in dropped.content.decode()

    refused = client.post(reverse("enrollment:list_confirm", args=[beneficiaries.number]), {})
    assert refused.status_code == 422 and "取得其同意" in refused.content.decode()
    client.post(reverse("enrollment:list_confirm", args=[beneficiaries.number]), {"declared": "1"})
    lists.list_confirm_run(list_id=beneficiaries.pk)  # the worker's task body
    order = Order.objects.get()
    assert order.amount == Decimal("138.00") and order.status == Order.PENDING

    paying = client.post(reverse("enrollment:list_pay", args=[beneficiaries.number]))
    assert paying.status_code == 302
    pay_on_provider(order.payments.get())
    billing.order_refresh(order=order)
    page = client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).content.decode()
    assert 'data-order-status="paid"' in page and 'data-count="issued">2<' in page

    receipt = client.get(reverse("enrollment:order_receipt", args=[order.number]))
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")


def test_a_bad_file_gets_a_clear_answer_and_changes_nothing(client, manager, employer):
    login_as(client, manager.user)
    response = client.post(f"{reverse('enrollment:list_new')}?org={employer.pk}", {
        "plan": Plan.objects.get(version__slug="wuwei-2025", code="basic").pk,
        "file": SimpleUploadedFile("名单.csv", "姓名,证件\n赵一,1\n".encode("gbk"))})
    assert response.status_code == 422 and "缺少必需的列：身份证号" in response.content.decode()
    assert not BeneficiaryList.objects.exists()


def test_lists_and_orders_are_only_for_the_organizations_members(client, manager, employer):
    beneficiaries = lists.list_upload(
        resident=manager, organization=employer, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
        filename="a.csv", data=csv_upload([("赵一", WORKER_A, "")]).read())
    login_as(client, make_resident(phone="13900000078", name="钱二", id_number=WORKER_B).user)
    assert client.get(reverse("enrollment:list_detail", args=[beneficiaries.number])).status_code == 404
    assert client.get(reverse("enrollment:org_detail", args=[employer.pk])).status_code == 404
    assert client.get(reverse("enrollment:list_report", args=[beneficiaries.number])).status_code == 404


def test_the_tax_helper_answers_in_place(client, manager, employer):
    login_as(client, manager.user)
    response = client.get(reverse("enrollment:org_tax", args=[employer.pk]),
                          {"payroll": "1000000", "spent": "20000"}, HTTP_HX_REQUEST="true")
    assert "<strong>5万元</strong>" in response.content.decode() and "<strong>3万元</strong>" in response.content.decode()
    bad = client.get(reverse("enrollment:org_tax", args=[employer.pk]), {"payroll": "abc", "spent": "0"},
                     HTTP_HX_REQUEST="true")
    assert bad.status_code == 422


def test_a_campaign_page_shows_progress_against_target(client, manager, employer):
    login_as(client, manager.user)
    response = client.post(reverse("enrollment:campaign_new", args=[employer.pk]), {
        "kind": "nuanren", "name": "职工暖心", "plan": Plan.objects.get(version__slug="wuwei-2025", code="basic").pk,
        "target_group": "本单位职工", "target_rule": "members", "target_count": "4", "budget": "276.00"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    beneficiaries = lists.list_upload(resident=manager, organization=employer, campaign=campaign,
                                              plan=campaign.plan, filename="a.csv", members_declared=True,
                                              data=csv_upload([("赵一", WORKER_A, "")]).read())
    lists.list_validate(list_id=beneficiaries.pk)
    order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    billing.bank_transfer_confirm(order=order, reference="B-1", amount=order.amount, user=manager.user)
    client.logout()
    page = client.get(reverse("enrollment:campaign_detail", args=[campaign.slug])).content.decode()
    assert "【暖人心】职工暖心" in page and 'data-figure="people">1<' in page and 'data-figure="given">69.00 元<' in page
    assert '<progress max="100" value="25">' in page
    assert "职工暖心" in client.get(reverse("enrollment:campaign_list")).content.decode()


def test_the_template_downloads_in_both_formats(client):
    csv = client.get(reverse("enrollment:list_template", args=["csv"]))
    assert csv.content.decode("utf-8-sig").startswith("姓名,身份证号,手机号")
    xlsx = client.get(reverse("enrollment:list_template", args=["xlsx"]))
    assert xlsx.content[:2] == b"PK"


# --- Admin -------------------------------------------------------------------------------------------------


def test_staff_approve_an_organization_and_export_the_list(client, manager):
    organization = organizations.organization_register(
        resident=manager, name="=危险名称", credit_code=valid_code("91620600MA71X0AB3"), kind="employer",
        contact_name="马", contact_phone="1")
    login_as(client, staff_user("admin", superuser=True))
    client.post(reverse("admin:enrollment_organization_changelist"),
                {"action": "approve", "_selected_action": [organization.pk]})
    organization.refresh_from_db()
    assert organization.status == Organization.APPROVED and organization.reviewed_by.username == "admin"
    export = client.post(reverse("admin:enrollment_organization_changelist"),
                         {"action": "export_csv", "_selected_action": [organization.pk]})
    assert "'=危险名称" in export.content.decode("utf-8-sig")
    search = client.get(reverse("admin:enrollment_organization_changelist"), {"q": organization.credit_code})
    assert "=危险名称" in search.content.decode()


def test_staff_confirm_a_bank_transfer_once(client, manager, employer):
    beneficiaries = lists.list_upload(
        resident=manager, organization=employer, plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
        filename="a.csv", data=csv_upload([("赵一", WORKER_A, "")]).read())
    lists.list_validate(list_id=beneficiaries.pk)
    order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
    login_as(client, staff_user("admin", superuser=True))
    url = reverse("admin:enrollment_order_bank_transfer", args=[order.pk])
    wrong = client.post(url, {"reference": "BANK-77", "amount": "1.00"})
    assert wrong.status_code == 200 and "不一致" in wrong.content.decode()
    client.post(url, {"reference": "BANK-77", "amount": "69.00"})
    order.refresh_from_db()
    assert order.status == Order.PAID and order.policies.get().status == Policy.ACTIVE
    clerk = staff_user("clerk")
    login_as(client, clerk)
    assert client.get(url).status_code == 403


def test_staff_record_a_donation_and_allocate_from_the_fund(client, products):
    charity = CharityFund.objects.create(program=Program.objects.get(code="wuwei"), name="爱心基金")
    roster(SELF_ID, "张桂兰", medical_assistance=True)
    login_as(client, staff_user("admin", superuser=True))
    bad = client.post(reverse("admin:enrollment_charityfund_donation", args=[charity.pk]),
                      {"donor_name": "某公司", "amount": "-1", "reference": "R1"})
    assert bad.status_code == 422 and "金额应大于0" in bad.content.decode()
    client.post(reverse("admin:enrollment_charityfund_donation", args=[charity.pk]),
                {"donor_name": "某公司", "amount": "100.00", "reference": "R1"})
    client.post(reverse("admin:enrollment_charityfund_allocate", args=[charity.pk]), {
        "plan": Plan.objects.get(version__slug="wuwei-2025", code="basic").pk, "name": "张桂兰",
        "id_number": SELF_ID, "note": "医疗救助对象"})
    charity.refresh_from_db()
    assert charity.balance == Decimal("31.00") and FundEntry.objects.count() == 2
    ledger = client.post(reverse("admin:enrollment_fundentry_changelist"),
                         {"action": "export_xlsx", "_selected_action": list(FundEntry.objects.values_list("pk", flat=True))})
    assert ledger.status_code == 200 and ledger.content[:2] == b"PK"


def test_a_ticket_opened_for_the_organization_is_shared_with_its_other_members(client, employer, manager,
                                                                              django_capture_on_commit_callbacks):
    from claims.models import Claim
    from portal.integrations.sms import template_id
    from portal.integrations.sms.simulator.models import SmsMessage
    from supervision import services as service
    from supervision.models import Ticket

    colleague = make_resident(phone="13800000077", name="赵一", id_number=WORKER_A)
    add_member(employer, manager, colleague)
    outsider = make_resident(phone="13800000088", name="钱二", id_number=WORKER_B)
    login_as(client, manager.user)
    assert "代表单位提交" in client.get(reverse("supervision:tickets")).content.decode()
    client.post(reverse("supervision:tickets"), {"kind": "enquiry", "subject": "名单模板里的身份证列", "body": "如何填写？",
                                                 "organization": employer.pk})
    ticket = Ticket.objects.get()
    assert ticket.organization == employer

    login_as(client, colleague.user)
    assert "名单模板里的身份证列" in client.get(reverse("supervision:tickets")).content.decode()
    client.post(reverse("supervision:ticket", args=[ticket.number]), {"body": "补充：用文本格式"})
    assert ticket.messages.count() == 2

    login_as(client, outsider.user)
    page = client.get(reverse("supervision:tickets"))
    assert "名单模板里的身份证列" not in page.content.decode() and "代表单位提交" not in page.content.decode()
    assert client.get(reverse("supervision:ticket", args=[ticket.number])).status_code == 404
    client.post(reverse("supervision:tickets"), {"kind": "enquiry", "subject": "冒用", "body": "x",
                                                 "organization": employer.pk})
    assert Ticket.objects.get(subject="冒用").organization is None
    with pytest.raises(service.Refused) as caught:
        service.ticket_open(resident=outsider, kind="enquiry", subject="冒用", body="x", organization=employer)
    assert caught.value.code == "not_a_member"
    with pytest.raises(service.Refused) as caught:  # a claim is personal: the other members would read it
        service.ticket_open(resident=manager, kind="dispute", subject="x", body="x", organization=employer,
                            claim=Claim(pk=1))
    assert caught.value.code == "claim_personal"

    login_as(client, staff_user("agent", "客服"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:supervision_ticket_reply", args=[ticket.pk]),
                    {"body": "请设为文本格式", "status": "resolved"})
    assert SmsMessage.objects.to(manager.phone).filter(template_id=template_id("ticket_replied")).exists()
    assert Ticket.objects.filter(organization=employer).count() == 1
