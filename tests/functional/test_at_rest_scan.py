"""Nothing personal in plaintext at rest (issue 13): the main journeys run with known ID numbers and
mobiles, then every text, varchar and JSON column of every table (information_schema), every file
under the private media root and the captured log output are scanned for an 18-character ID number
and for the full mobiles used. The journeys store each kind of mobile the portal keeps (an account's,
a sign-in code's, a list row's, a counter enrollment's, a follow-up visit's): were any of them kept in
clear again, the scan would find it."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from claims import services as claims_services
from claims.models import Claim, ClaimDocument
from enrollment import billing, counter, lists, organizations
from enrollment.idnumber import IdNumberError, parse
from enrollment.models import (
    BeneficiaryList,
    BeneficiaryRow,
    CounterEnrollment,
    Plan,
    Program,
    Resident,
    ServicePoint,
    SmsCode,
)
from portal.integrations.sms.simulator.models import SmsMessage
from supervision import services as supervision_services
from supervision.models import FollowUpVisit, Ticket
from tests.documents import JPEG, PDF
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    active_policy,
    login_as,
    make_id,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
    staff_user,
)

pytestmark = pytest.mark.django_db
WINDOW = "2025-06-15 10:00 +08:00"
WORKER_A, WORKER_B = make_id("62060219800101234"), make_id("62060219810202345")
COUNTER_ID = make_id("62060219580808123")  # 孙大爷, enrolled at a service point
RESIDENT_MOBILE, MANAGER_MOBILE, WORKER_MOBILE = "13812340001", "13912340002", "13712340003"
COUNTER_MOBILE = "13612340004"
MOBILES = (RESIDENT_MOBILE, MANAGER_MOBILE, WORKER_MOBILE, COUNTER_MOBILE)
ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _ids_in(text: str) -> set[str]:
    found = set()
    for match in ID_PATTERN.findall(text):
        try:
            parse(match)
        except IdNumberError:
            continue  # 18 digits that are no ID number (a trade number, a timestamp)
        found.add(match)
    return found


def _journeys(client, tmp_path, on_commit) -> None:
    for id_number, name in ((SELF_ID, "张桂兰"), (MOTHER_ID, "李秀英"), (WORKER_A, "赵一"), (WORKER_B, "钱二"),
                            (COUNTER_ID, "孙大爷")):
        roster(id_number, name)
    # Purchase: a resident buys for herself and her mother, and signs in again later with an SMS code.
    resident = make_resident(RESIDENT_MOBILE, "张桂兰", SELF_ID)
    active_policy(resident, ("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent"))
    with on_commit(execute=True):
        assert client.post(reverse("enrollment:send_code"), {"phone": RESIDENT_MOBILE},
                           HTTP_HX_REQUEST="true").status_code == 200
    code = re.search(r"验证码为(\d{6})", SmsMessage.objects.to(RESIDENT_MOBILE).latest("sent_at").body).group(1)
    assert client.post(reverse("enrollment:login"), {"phone": RESIDENT_MOBILE, "code": code}).status_code == 302

    # A resident without a smartphone enrolled at a service point, with a mobile for the SMS.
    staff = staff_user("counter", "柜面经办")
    with time_machine.travel(WINDOW, tick=True):
        point = ServicePoint.objects.create(program=Program.objects.get(code="wuwei"), name="凉州区服务网点")
        counter.enroll(shift=counter.shift_open(staff=staff, service_point=point), staff=staff,
                       plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"), name="孙大爷",
                       id_number=COUNTER_ID, phone=COUNTER_MOBILE, id_card_checked=True,
                       consent_scan=SimpleUploadedFile("授权书.pdf", PDF, "application/pdf"), method="counter_cash")

    # A beneficiary list uploaded, validated, confirmed, paid and its beneficiaries told by SMS.
    manager = make_resident(MANAGER_MOBILE, name=None, id_number=None)
    with time_machine.travel(WINDOW, tick=True):
        organization = organizations.organization_register(
            resident=manager, name="武威市示例建材有限公司", credit_code="91620600MA71X0AB3" + _check("91620600MA71X0AB3"),
            kind="employer", contact_name="马经理", contact_phone="0935-1234567")
        organization.approve()
        organization.save()
        data = f"姓名,身份证号,手机号\n赵一,{WORKER_A},{WORKER_MOBILE}\n钱二,{WORKER_B},\n".encode()
        beneficiaries = lists.list_upload(resident=manager, organization=organization,
                                          plan=Plan.objects.get(version__slug="wuwei-2025", code="basic"),
                                          filename="名单.csv", data=data)
        assert lists.list_validate(list_id=beneficiaries.pk) == BeneficiaryList.VALIDATED
        order = lists.list_confirm(beneficiaries=beneficiaries, by=manager, declared=True)
        billing.bank_transfer_confirm(order=order, reference="B1", amount=order.amount, user=manager.user)
        lists.beneficiaries_notify(list_id=beneficiaries.pk)

    # Settlement intake (the feed) and a resident's own claim with a document.
    source = settlement_source()
    claims_services.settlements_receive(source=source, records=[settlement_record("S1"), settlement_record(
        "S2", id_number=MOTHER_ID)])
    client.force_login(resident.user)
    policy = resident.orders.get().policies.get(person__name="张桂兰")
    assert client.post("/claims/submit/", {
        "policy": policy.pk, "hospital_name": "北京协和医院", "admission_date": "2025-11-01",
        "discharge_date": "2025-11-08", "description": "出差期间住院",
        "documents": [SimpleUploadedFile("结算单.pdf", PDF + f"% {SELF_ID} {RESIDENT_MOBILE}\n".encode()),
                      SimpleUploadedFile("清单.jpg", JPEG)],
    }).status_code == 302
    submission = resident.claim_submissions.get()
    login_as(client, staff_user("keyer", "理赔审核员"))
    assert client.post(f"/admin/claims/claimsubmission/{submission.pk}/key/", {
        "hospital_code": "H110000001", "hospital_level": "3", "designated": "on", "visit_type": "inpatient",
        "settled_at": "2025-11-08 10:00", "diagnoses": "K35.8", "total": "51000.00",
        "in_catalog_self_pay": "50000.00", "base_fund_paid": "0.00", "critical_illness_paid": "0.00",
        "medical_assistance_paid": "0.00", "out_of_catalog": "0.00", "heavy_ion": "0.00",
    }).status_code == 302

    # Staff ask for more documents on a large claim held for review; the resident uploads them on
    # the claim's page (a PDF that names her, a photo).
    claims_services.settlements_receive(source=source, records=[settlement_record(
        "S3", admission="2025-09-01", settled="2025-09-09T10:00:00+08:00", in_catalog_self_pay="60000.00")])
    claims_services.policy_year_recompute(policy_id=policy.pk)
    claim = Claim.objects.get(settlement__settlement_id="S3", state__in=Claim.OPEN_FOR_REVIEW)
    claims_services.claim_documents_request(claim_id=claim.pk, user=staff_user("requester", "理赔审核员"),
                                            reason="请补充出院小结")
    client.force_login(resident.user)
    assert client.post(f"/claims/{claim.pk}/", {
        "documents": [SimpleUploadedFile("出院小结.pdf", PDF + f"% {SELF_ID} {RESIDENT_MOBILE}\n".encode()),
                      SimpleUploadedFile("费用清单.png", _png_with_text())]}).status_code == 302
    assert ClaimDocument.objects.count() == 2

    # A ticket with an attachment that names the resident, and a reply by staff (an SMS).
    client.force_login(resident.user)
    assert client.post("/service/", {"kind": "enquiry", "subject": "咨询", "body": "见附件",
                                     "attachment": SimpleUploadedFile("身份证.png", _png_with_text())}).status_code == 302
    assert Ticket.objects.count() == 1

    # Follow-up visits drawn among the year's buyers: each keeps the number to call.
    supervision_services.visits_draw(program=Program.objects.get(code="wuwei"), purpose=FollowUpVisit.BUYER,
                                     start=date(2025, 6, 1), end=date(2025, 6, 30), count=50)


def _check(first17: str) -> str:
    from stdnum.cn import uscc

    return uscc.calc_check_digit(first17)


def _png_with_text() -> bytes:
    from tests.documents import PNG

    return PNG + f"{SELF_ID} {RESIDENT_MOBILE}".encode()


def _mobiles_kept() -> dict[str, set[str]]:
    """Each place the portal keeps a full mobile, read back the way the portal reads it."""
    return {
        "account": {r.phone for r in Resident.objects.all()},
        "sign-in code": {m for m in MOBILES if SmsCode.objects.by_phone(m).exists()},
        "list row": {r.phone for r in BeneficiaryRow.objects.all()},
        "counter": {c.phone for c in CounterEnrollment.objects.all()},
        "visit": {v.phone for v in FollowUpVisit.objects.all()},
    }


def test_no_id_number_or_full_mobile_in_any_column_file_or_log_line(client, products, settings, tmp_path, caplog,
                                                                     django_capture_on_commit_callbacks):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    caplog.set_level(logging.INFO)
    _journeys(client, tmp_path, django_capture_on_commit_callbacks)
    kept = _mobiles_kept()  # the journeys did store every kind of mobile the scan must not find
    assert {RESIDENT_MOBILE, MANAGER_MOBILE} <= kept["account"] and kept["sign-in code"] == {RESIDENT_MOBILE}
    assert WORKER_MOBILE in kept["list row"] and kept["counter"] == {COUNTER_MOBILE}
    assert RESIDENT_MOBILE in kept["visit"]

    found: dict[tuple[str, str], set[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                       "current_schema() AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')")
        columns = cursor.fetchall()
        assert len(columns) > 100
        for table, column in columns:
            cursor.execute(f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL')
            for (value,) in cursor.fetchall():
                hits = _ids_in(value) | {m for m in MOBILES if m in value}
                if hits:
                    found.setdefault((table, column), set()).update(hits)
    assert found == {}

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) >= 6  # the list, two submission documents, two claim-page documents, the attachment
    for path in files:
        text = path.read_bytes().decode("latin-1")
        assert not _ids_in(text) and not [m for m in MOBILES if m in text], path

    logged = caplog.text
    assert not _ids_in(logged) and not [m for m in MOBILES if m in logged]
