"""我的理赔: each settlement's payout with its explanation, the year summary, out-of-region claims."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import services
from claims.models import Claim, ClaimSubmission
from tests.documents import JPEG, PDF
from tests.factories import (
    CHILD_ID,
    MOTHER_ID,
    SELF_ID,
    active_policy,
    login_as,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(products):
    """张桂兰 bought for herself, her mother and her child; each has a settlement."""
    for id_number, name in ((SELF_ID, "张桂兰"), (MOTHER_ID, "李秀英"), (CHILD_ID, "张小宝")):
        roster(id_number, name)
    resident = make_resident()
    active_policy(resident, ("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent"), ("张小宝", CHILD_ID, "child"))
    source = settlement_source()
    for settlement_id, id_number in (("S-SELF", SELF_ID), ("S-MOTHER", MOTHER_ID), ("S-CHILD", CHILD_ID)):
        services.settlement_receive(source=source, record=settlement_record(settlement_id, id_number=id_number))
    for claim_policy in {c.policy_id for c in Claim.objects.all()} or resident.orders.get().policies.values_list(
            "pk", flat=True):
        services.policy_year_recompute(policy_id=claim_policy)
    return resident


def test_my_claims_explains_each_payout_and_the_year(client, family):
    login_as(client, family.user)
    html = client.get("/claims/").content.decode()
    assert "赔付 5,400.00 元" in html and "S-SELF" in html
    assert "医保目录内住院医疗费用" in html  # the Chinese explanation of the line
    assert "已用 12,000.00 元，共 12,000.00 元，还剩 0.00 元" in html  # the deductible
    assert "剩余" in html  # what is left under each limit


def test_a_guardian_sees_a_minor_childs_claims_but_not_an_adult_parents(client, family):
    login_as(client, family.user)
    html = client.get("/claims/").content.decode()
    assert "S-CHILD" in html and "S-MOTHER" not in html


def test_the_insured_adult_sees_her_own_claims(client, family):
    mother = make_resident(phone="13800000002", name="李秀英", id_number=MOTHER_ID)
    login_as(client, mother.user)
    html = client.get("/claims/").content.decode()
    assert "S-MOTHER" in html and "S-SELF" not in html


def test_an_adjustment_is_explained_to_the_resident(client, family):
    claim = Claim.objects.get(settlement__settlement_id="S-SELF")
    services.settlement_correct(settlement_id=claim.settlement_id, user=staff_user("r", "理赔审核员"),
                                pre_existing=True, reason="既往症核实")
    login_as(client, family.user)
    html = client.get("/claims/").content.decode()
    assert "调整 -1800.00 元" in html and "既往症核实" in html


def test_an_out_of_region_claim_is_submitted_keyed_in_and_computed(client, family, settings, tmp_path,
                                                                    django_capture_on_commit_callbacks):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    login_as(client, family.user)
    policy = family.orders.get().policies.get(person__name="张桂兰")
    response = client.post("/claims/submit/", {
        "policy": policy.pk, "hospital_name": "北京协和医院", "admission_date": "2025-11-01",
        "discharge_date": "2025-11-08", "description": "出差期间住院",
        "documents": [SimpleUploadedFile("结算单.pdf", PDF, "application/pdf"),
                      SimpleUploadedFile("清单.jpg", JPEG, "image/jpeg")],
    })
    assert response.status_code == 302
    submission = ClaimSubmission.objects.get()
    stored = [Path(d.file.path) for d in submission.documents.all()]
    assert all(path.is_relative_to(tmp_path) and path.exists() for path in stored)  # private, not under MEDIA_ROOT

    staff = staff_user("keyer", "理赔审核员")
    login_as(client, staff)
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(f"/admin/claims/claimsubmission/{submission.pk}/key/", {
            "hospital_code": "H110000001", "hospital_level": "3", "designated": "on", "visit_type": "inpatient",
            "settled_at": "2025-11-08 10:00", "diagnoses": "K35.8", "total": "51000.00",
            "in_catalog_self_pay": "50000.00", "base_fund_paid": "0.00", "critical_illness_paid": "0.00",
            "medical_assistance_paid": "0.00", "out_of_catalog": "0.00", "heavy_ion": "0.00",
        })
    assert response.status_code == 302 and len(enqueued) == 1  # the year's recomputation, on commit
    services.policy_year_recompute(policy_id=policy.pk)  # what the worker runs
    submission.refresh_from_db()
    claim = Claim.objects.get(settlement=submission.settlement)
    assert submission.status == ClaimSubmission.KEYED and claim.payout > 0
    assert "manual_entry" in claim.flags and claim.state == Claim.PENDING_REVIEW  # keyed in by hand: reviewed


def test_uploads_are_checked_by_content_and_size(client, family):
    login_as(client, family.user)
    policy = family.orders.get().policies.get(person__name="张桂兰")
    response = client.post("/claims/submit/", {
        "policy": policy.pk, "hospital_name": "北京协和医院", "admission_date": "2025-11-01",
        "documents": [SimpleUploadedFile("结算单.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")],
    })
    assert response.status_code == 422 and "不是 JPG、PNG 或 PDF 文件" in response.content.decode()
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf")
    response = client.post("/claims/submit/", {"policy": policy.pk, "hospital_name": "x",
                                               "admission_date": "2025-11-01", "documents": [big]})
    assert response.status_code == 422 and "超过10MB" in response.content.decode()
    assert not ClaimSubmission.objects.exists()


def test_documents_are_only_served_to_their_owner(client, family, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    login_as(client, family.user)
    policy = family.orders.get().policies.get(person__name="张桂兰")
    client.post("/claims/submit/", {"policy": policy.pk, "hospital_name": "北京协和医院", "admission_date": "2025-11-01",
                                    "documents": [SimpleUploadedFile("a.pdf", PDF, "application/pdf")]})
    submission = ClaimSubmission.objects.get()
    url = f"/claims/submissions/{submission.number}/documents/{submission.documents.get().pk}/"
    assert client.get(url).status_code == 200
    stranger = make_resident(phone="13900000009", name="李秀英", id_number=MOTHER_ID)
    login_as(client, stranger.user)
    assert client.get(url).status_code == 404


def test_a_dispute_opened_from_my_claims_names_the_claim_and_only_a_claim_she_may_see(client, family):
    from supervision import services as service
    from supervision.models import Ticket

    own = Claim.objects.get(settlement__settlement_id="S-SELF")
    mothers = Claim.objects.get(settlement__settlement_id="S-MOTHER")
    login_as(client, family.user)
    assert f"/service/?kind=dispute&amp;claim={own.pk}" in client.get("/claims/").content.decode()
    form = client.get("/service/", {"kind": "dispute", "claim": own.pk}).content.decode()
    assert f'<option value="{own.pk}" selected>' in form and '<option value="dispute" selected>' in form

    refused = client.post("/service/", {"kind": "dispute", "subject": "赔少了", "body": "请复核", "claim": mothers.pk})
    assert refused.status_code == 422 and not Ticket.objects.exists()
    with pytest.raises(service.Refused) as caught:
        service.ticket_open(resident=family, kind="dispute", subject="赔少了", body="请复核", claim=mothers)
    assert caught.value.code == "claim_not_yours" and not Ticket.objects.exists()

    client.post("/service/", {"kind": "dispute", "subject": "赔少了", "body": "请复核", "claim": own.pk})
    ticket = Ticket.objects.get()
    assert ticket.claim == own and ticket.policy == own.policy
    assert abs(ticket.respond_by - ticket.created_at - Ticket.FIRST_RESPONSE["dispute"]).total_seconds() < 5


def test_an_approved_claim_waits_for_a_payee_and_the_resident_registers_her_card(client, family):
    from claims.models import Payee
    from tests.factories import bank_card, card_number

    card = card_number("621700001000")
    bank_card(card, SELF_ID, "张桂兰", "13800000001")
    login_as(client, family.user)
    html = client.get("/claims/").content.decode()
    assert "等待登记收款账户后支付" in html and "登记收款账户" in html

    wrong = client.post("/claims/payees/", {"person": family.person_id, "kind": "bank_card", "card_number": card,
                                            "phone": "13800000009"})
    assert wrong.status_code == 422 and "银行卡核验未通过" in wrong.content.decode()
    assert not Payee.objects.exists()
    done = client.post("/claims/payees/", {"person": family.person_id, "kind": "bank_card", "card_number": card,
                                           "phone": "13800000001"})
    assert done.status_code == 302
    html = client.get("/claims/payees/").content.decode()
    assert f"{card[:4]} **** **** {card[-4:]}" in html and card not in html
    html = client.get("/claims/").content.decode()
    assert "等待登记收款账户后支付" not in html.split("年度保障使用情况")[0].split("S-SELF")[1]


def test_only_ones_own_people_get_a_payee(client, family):
    other = make_resident(phone="13800000002", name="李秀英", id_number=MOTHER_ID)
    login_as(client, other.user)
    response = client.post("/claims/payees/", {"person": family.person_id, "kind": "bank_card",
                                               "card_number": "6217000010000000000", "phone": "13800000002"})
    assert response.status_code == 422 and "Payee" not in response.content.decode()
    from claims.models import Payee

    assert not Payee.objects.exists()
