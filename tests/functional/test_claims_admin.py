"""Claims review in the admin: lists, the claim page, actions, roles, imports, payment batches."""

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import load_workbook

from claims import services
from claims.models import Claim, PayoutBatch, PayoutItem, Settlement
from tests.factories import (
    SELF_ID,
    active_policy,
    login_as,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
    verified_payee,
)

pytestmark = pytest.mark.django_db
MASKED = SELF_ID[:6] + "********" + SELF_ID[-4:]


@pytest.fixture
def policy(products):
    roster(SELF_ID, "张桂兰")
    policy = active_policy(make_resident())
    verified_payee(policy.person)
    return policy


@pytest.fixture
def source(policy):
    return settlement_source()


def computed(source, policy, *records):
    for record in records:
        services.settlement_receive(source=source, record=record)
    services.policy_year_recompute(policy_id=policy.pk)
    return {c.settlement.settlement_id: c for c in Claim.objects.select_related("settlement")}


def signed_in(client, *groups, username="reviewer"):
    login_as(client, staff_user(username, *groups))
    return client


def page(response) -> str:
    return response.content.decode()


def test_the_claim_page_shows_the_settlement_lines_policy_year_and_never_the_whole_id(client, source, policy):
    claim = computed(source, policy, settlement_record("S1"))["S1"]
    html = page(signed_in(client, "理赔审核员").get(f"/admin/claims/claim/{claim.pk}/change/"))
    assert "S1" in html and MASKED in html and SELF_ID not in html
    assert "医保目录内住院医疗费用" in html  # the line's explanation
    assert "已用12000.00元 / 12000.00元" in html  # the deductible used this year
    assert "累计赔付5400.00元" in html  # the responsibility against its limit
    assert "审核记录" not in html and "审计记录" in html


def test_lists_filter_by_state_and_flag_and_search_by_masked_id(client, source, policy):
    computed(source, policy, settlement_record("S1"), settlement_record(
        "S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01", in_catalog_self_pay="60000.00"))
    client = signed_in(client, "理赔审计员", username="auditor")
    held = page(client.get("/admin/claims/claim/?state__exact=pending_review"))
    assert "S2" in held and ">S1<" not in held
    flagged = page(client.get("/admin/claims/claim/?flag=above_auto_limit"))
    assert "S2" in flagged and ">S1<" not in flagged
    found = page(client.get("/admin/claims/claim/", {"q": MASKED}))
    assert "S1" in found and "S2" in found


def test_a_reviewer_corrects_the_pre_existing_flag_and_sees_the_adjustment(client, source, policy):
    claim = computed(source, policy, settlement_record("S1"))["S1"]
    client = signed_in(client, "理赔审核员")
    response = client.post(f"/admin/claims/claim/{claim.pk}/correct/", {"pre_existing": "1", "reason": "病历显示投保前已确诊"},
                           follow=True)
    html = page(response)
    assert "新增1条调整明细" in html and "-1800.00" in html and "3600.00" in html
    assert "病历显示投保前已确诊" in html  # the reason, in the lines and in the audit trail


def test_a_correction_without_a_reason_is_refused_and_changes_nothing(client, source, policy):
    claim = computed(source, policy, settlement_record("S1"))["S1"]
    response = signed_in(client, "理赔审核员").post(f"/admin/claims/claim/{claim.pk}/correct/",
                                                   {"pre_existing": "1", "reason": ""})
    assert response.status_code == 422 and "这个字段是必填项" in page(response)
    assert Settlement.objects.get(pk=claim.settlement_id).pre_existing_corrected is None


def test_an_auditor_sees_the_claim_but_cannot_act(client, source, policy):
    claim = computed(source, policy, settlement_record("S1", in_catalog_self_pay="60000.00"))["S1"]
    client = signed_in(client, "理赔审计员", username="auditor")
    html = page(client.get(f"/admin/claims/claim/{claim.pk}/change/"))
    assert "审计记录" in html and 'id="approve-form"' not in html and 'id="correct-form"' not in html
    response = client.post(f"/admin/claims/claim/{claim.pk}/approve/", {"note": ""})
    assert response.status_code == 422 and "您没有审核理赔的权限" in page(response)
    assert Claim.objects.get(pk=claim.pk).state == Claim.PENDING_REVIEW


def test_reject_through_the_admin_with_a_reason(client, source, policy):
    claim = computed(source, policy, settlement_record("S1", in_catalog_self_pay="60000.00"))["S1"]
    response = signed_in(client, "理赔审核员").post(f"/admin/claims/claim/{claim.pk}/reject/",
                                                   {"code": "documents_insufficient", "note": "缺费用清单"}, follow=True)
    assert "已拒赔" in page(response)
    claim.refresh_from_db()
    assert claim.state == Claim.REJECTED and claim.rejection_code == "documents_insufficient" and claim.payout == 0


def test_staff_import_validates_each_row_like_the_api(client, source, policy):
    good = {"settlement_id": "IMP-1", "id_number": SELF_ID, "name": "张桂兰", "hospital_code": "H1",
            "hospital_name": "武威市人民医院", "hospital_level": "3", "designated": "是", "in_region": "是",
            "visit_type": "inpatient", "admission_date": "2025-08-01", "discharge_date": "2025-08-05",
            "settled_at": "2025-08-05T10:00:00+08:00", "diagnoses": "I63.9;I10", "pre_existing": "否",
            "total": "31000.00", "in_catalog_self_pay": "30000.00"}
    bad = {**good, "settlement_id": "IMP-2", "id_number": "6.20602E+17"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(good))
    writer.writeheader()
    writer.writerows([good, bad])
    upload = io.BytesIO(out.getvalue().encode("gbk"))
    upload.name = "settlements.csv"
    response = signed_in(client, "理赔审核员").post("/admin/claims/settlement/import/",
                                                   {"program": policy.version.program_id, "file": upload})
    html = page(response)
    assert "接收1行" in html and "id_number" in html
    assert list(Settlement.objects.values_list("settlement_id", flat=True)) == ["IMP-1"]
    assert Settlement.objects.get().source.kind == "staff"


def test_unmatched_settlements_are_listed_with_the_reason(client, source):
    from tests.factories import MOTHER_ID

    services.settlement_receive(source=source, record=settlement_record("X1", id_number=MOTHER_ID))
    html = page(signed_in(client, "理赔审计员", username="auditor").get(
        "/admin/claims/settlement/?match_status__exact=unmatched"))
    assert "X1" in html and "未找到该参保人" in html


def test_a_payment_batch_is_exported_paid_and_reconciled(client, source, policy):
    claims = computed(source, policy, settlement_record("S1"), settlement_record(
        "=S2", settled="2025-10-10T09:00:00+08:00", admission="2025-10-01"))
    approver = staff_user("approver", "理赔复核人")
    services.claim_approve(claim_id=claims["=S2"].pk, user=approver)  # 11,800.00 was held for review
    login_as(client, approver)
    client.post("/admin/claims/payoutbatch/create/", {"program": policy.version.program_id})
    batch = PayoutBatch.objects.get()
    assert batch.total == Decimal("17200.00") and batch.items.count() == 2

    exported = client.get(f"/admin/claims/payoutbatch/{batch.pk}/export.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][1] == "结算单号" and {r[1] for r in rows[1:]} == {"S1", "'=S2"}  # formulas escaped
    assert MASKED in exported and SELF_ID not in exported
    book = load_workbook(io.BytesIO(client.get(f"/admin/claims/payoutbatch/{batch.pk}/export.xlsx").content))
    assert [row[7] for row in book.active.iter_rows(min_row=2, values_only=True)] == [5400, 11800]

    returned = io.StringIO()
    csv.writer(returned).writerows([["结算单号", "支付金额"], ["S1", "5400.00"], ["=S2", "8000.00"]])
    upload = io.BytesIO(returned.getvalue().encode())
    upload.name = "return.csv"
    client.post(f"/admin/claims/payoutbatch/{batch.pk}/reconcile/", {"file": upload})
    batch.refresh_from_db()
    assert batch.status == "reconciled" and batch.paid_total == Decimal("5400.00")
    assert batch.reconciliation["mismatched"] == [{"settlement_id": "=S2", "expected": "11800.00", "reported": "8000.00"}]
    s1, s2 = Claim.objects.get(settlement__settlement_id="S1"), Claim.objects.get(settlement__settlement_id="=S2")
    assert (s1.state, s1.paid_amount) == (Claim.PAID, Decimal("5400.00"))
    assert (s2.state, s2.paid_amount) == (Claim.APPROVED, Decimal("0.00"))
    # What was not paid goes into the next batch; what was paid never again.
    client.post("/admin/claims/payoutbatch/create/", {"program": policy.version.program_id})
    assert list(PayoutBatch.objects.order_by("-created_at").first().items.values_list("amount", flat=True)) == [
        Decimal("11800.00")]


def test_a_reviewer_cannot_make_payment_batches(client, source, policy):
    computed(source, policy, settlement_record("S1"))
    signed_in(client, "理赔审核员").post("/admin/claims/payoutbatch/create/", {"program": policy.version.program_id})
    assert not PayoutBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_batches_made_at_once_never_take_the_same_claim(products):
    roster(SELF_ID, "张桂兰")
    policy = active_policy(make_resident())
    verified_payee(policy.person)
    source = settlement_source()
    computed(source, policy, settlement_record("S1"))
    users = [staff_user(f"approver{i}", "理赔复核人") for i in range(8)]

    def create(user):
        try:
            return services.payout_batch_create(program=policy.version.program, user=user).number
        except services.ReviewRefused as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, users))
    assert PayoutItem.objects.count() == 1, outcomes
    assert PayoutBatch.objects.filter(items__isnull=False).count() == 1
    assert sorted(set(outcomes) - {PayoutBatch.objects.get(items__isnull=False).number}) <= ["busy", "nothing_to_pay"]


def test_the_openapi_document_describes_the_intake_api(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {"/settlements", "/settlements/{settlement_id}/reversal", "/hsa/callService"}
    platform = document["paths"]["/hsa/callService"]["post"]
    assert "medfee_sumamt" in platform["description"] and "2208" in platform["summary"]
    parameters = {p["name"] for p in document["paths"]["/settlements"]["post"]["parameters"]}
    assert parameters == {"X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature"}
