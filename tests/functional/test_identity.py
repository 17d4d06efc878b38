"""Real-name binding proven by the verification service (Tencent faceid's protocol, over HTTP to
its simulator): a mistyped name is never stored, an ID held by a stranger is taken back by its
owner with his own mobile, appeals go to customer service, and every attempt is counted and
recorded masked."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image

from claims import services as claims_services
from enrollment import identity
from enrollment.models import IdentityAppeal, Person, Resident, VerificationAttempt
from portal.integrations.identity.simulator.models import Outage
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from tests.documents import JPEG, PDF
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    UNINSURED_ID,
    active_policy,
    carrier_line,
    login_as,
    make_resident,
    roster,
    staff_user,
)

pytestmark = pytest.mark.django_db

OWNER_PHONE, STRANGER_PHONE = "13800000001", "13900000002"


@pytest.fixture
def registry(products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    carrier_line(OWNER_PHONE, SELF_ID, "张桂兰")
    carrier_line(STRANGER_PHONE, MOTHER_ID, "李秀英")


def signed_in(phone: str) -> tuple[Client, Resident]:
    resident = make_resident(phone=phone, id_number=None)
    client = Client()
    login_as(client, resident.user)
    return client, resident


def bind(client, name, id_number, action="bind"):
    return client.post(reverse("enrollment:bind"), {"name": name, "id_number": id_number, "action": action})


def test_a_verified_name_binds_and_becomes_the_name_of_record(registry):
    client, resident = signed_in(OWNER_PHONE)
    response = bind(client, "张桂兰", SELF_ID.lower())
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.person.name == "张桂兰" and resident.person.name_verified_at and resident.bound_at
    attempt = VerificationAttempt.objects.get()
    assert (attempt.purpose, attempt.method, attempt.outcome, attempt.result) == ("bind", "id_card", "match", "0")
    assert (attempt.name_masked, attempt.id_masked) == ("张*兰", SELF_ID[:6] + "********" + SELF_ID[-4:])
    assert attempt.resident == resident and attempt.request_id


def test_a_mistyped_name_is_refused_and_never_stored(registry):
    client, resident = signed_in(OWNER_PHONE)
    response = bind(client, "张桂花", SELF_ID)
    assert response.status_code == 422 and "姓名与身份证号不一致" in response.content.decode()
    resident.refresh_from_db()
    assert resident.person is None and not Person.objects.exists()
    assert VerificationAttempt.objects.get().outcome == "mismatch"
    # ...and the owner, typing it right, is not blocked by it.
    assert bind(client, "张桂兰", SELF_ID).status_code == 302


def test_a_name_recorded_wrong_before_is_corrected_by_the_verified_one(registry):
    wrong = Person(name="张桂花")
    wrong.set_id_number(SELF_ID)
    wrong.save()
    client, resident = signed_in(OWNER_PHONE)
    assert bind(client, "张桂兰", SELF_ID).status_code == 302
    wrong.refresh_from_db()
    assert wrong.name == "张桂兰" and wrong.name_verified_at is not None
    event = Person.pgh_event_model.objects.get(pgh_obj=wrong)
    assert event.name == "张桂兰" and event.pgh_context.metadata["action"] == "bind"


@pytest.mark.parametrize(("name", "id_number", "code", "message"), [
    ("张三", UNINSURED_ID, "identity_no_record", "未查询到该身份证号的登记信息"),
    ("张", SELF_ID, "name_invalid", "请填写与身份证一致的姓名"),
    ("张桂兰", SELF_ID[:-1] + ("0" if SELF_ID[-1] != "0" else "1"), "id_checksum", "校验位"),
    ("张桂兰", "62060219750520", "id_length", "应为18位"),
])
def test_what_cannot_be_verified_binds_nothing(registry, name, id_number, code, message):
    client, resident = signed_in(OWNER_PHONE)
    response = bind(client, name, id_number)
    assert response.status_code == 422 and message in response.content.decode()
    resident.refresh_from_db()
    assert resident.person is None and not Person.objects.exists()
    # Input that is not a name and an ID number never reaches the service.
    assert VerificationAttempt.objects.count() == (1 if code.startswith("identity") else 0)


def test_a_service_that_does_not_answer_changes_nothing(registry):
    Outage.objects.create(note="证件库维护")
    client, resident = signed_in(OWNER_PHONE)
    response = bind(client, "张桂兰", SELF_ID)
    assert response.status_code == 422 and "实名核验服务暂时不可用" in response.content.decode()
    resident.refresh_from_db()
    assert resident.person is None and not Person.objects.exists()
    assert VerificationAttempt.objects.get().outcome == "unavailable"


def test_an_account_cannot_be_rebound_to_someone_else(registry):
    resident = make_resident(phone=OWNER_PHONE)
    client = Client()
    login_as(client, resident.user)
    response = bind(client, "李秀英", MOTHER_ID)
    assert response.status_code == 422 and "不能更换为他人" in response.content.decode()
    assert not VerificationAttempt.objects.exists()


def test_the_squatter_is_unbound_by_the_owner_and_keeps_nothing(registry, django_capture_on_commit_callbacks):
    """A stranger who knows the owner's name and ID number binds first and reads her policy; the
    owner, with a mobile registered in her name, takes the ID back; the stranger sees nothing."""
    daughter = make_resident(phone="13700000007", name="李秀英", id_number=MOTHER_ID)
    policy = active_policy(daughter, ("张桂兰", SELF_ID, "parent"))
    squatter_client, squatter = signed_in(STRANGER_PHONE)
    assert bind(squatter_client, "张桂兰", SELF_ID).status_code == 302
    assert policy.number in squatter_client.get(reverse("enrollment:my_policies")).content.decode()
    submission = claims_services.claim_submission_create(
        resident=Resident.objects.get(pk=squatter.pk), policy=policy, hospital_name="兰州大学第一医院",
        admission_date=policy.coverage_start, discharge_date=policy.coverage_start, description="",
        files=[SimpleUploadedFile("单据.pdf", PDF, "application/pdf")])

    owner_client, owner = signed_in(OWNER_PHONE)
    refused = bind(owner_client, "张桂兰", SELF_ID)
    assert refused.status_code == 422 and "用本机号码验证并找回" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        taken = bind(owner_client, "张桂兰", SELF_ID, action="phone")
    assert taken.status_code == 302

    owner.refresh_from_db()
    squatter.refresh_from_db()
    assert owner.person.id_number == SELF_ID and squatter.person is None and squatter.bound_at is None
    told = SmsMessage.objects.to(STRANGER_PHONE).get(template_id=template_id("identity_released"))
    assert "张*兰" in told.body and "解除实名绑定" in told.body
    # The stranger keeps nothing: no policy list, no policy page, no PDF, no claim, no submission.
    for name, args in (("enrollment:my_policies", []), ("enrollment:policy_detail", [policy.number]),
                       ("enrollment:policy_pdf", [policy.number]), ("claims:my_claims", [])):
        response = squatter_client.get(reverse(name, args=args))
        assert response.status_code == 302 and response["Location"].startswith("/account/bind/"), name
    submission.refresh_from_db()
    assert submission.resident == owner
    assert policy.number in owner_client.get(reverse("enrollment:my_policies")).content.decode()
    event = Resident.pgh_event_model.objects.filter(pgh_obj=squatter).latest("pgh_id")
    assert event.person is None and event.pgh_context.metadata["action"] == "takeover"
    assert VerificationAttempt.objects.filter(resident=owner, method="phone", outcome="match").exists()


def test_a_mobile_in_another_name_cannot_take_over_and_is_offered_an_appeal(registry):
    make_resident(phone=STRANGER_PHONE, name="张桂兰", id_number=SELF_ID)
    client, resident = signed_in("13600000006")  # registered to nobody at the carrier
    response = bind(client, "张桂兰", SELF_ID, action="phone")
    assert response.status_code == 422
    page = response.content.decode()
    assert "无法通过手机号找回" in page and reverse("enrollment:bind_appeal") in page
    resident.refresh_from_db()
    assert resident.person is None
    assert Resident.objects.by_phone(STRANGER_PHONE).get().person.id_number == SELF_ID


def test_an_appeal_with_an_id_photo_is_decided_by_customer_service(registry, django_capture_on_commit_callbacks,
                                                                     settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    squatter = make_resident(phone=STRANGER_PHONE, name="张桂兰", id_number=SELF_ID)
    client, owner = signed_in("13600000006")
    response = client.post(reverse("enrollment:bind_appeal"), {
        "name": "张桂兰", "id_number": SELF_ID, "explanation": "手机号登记在儿子名下",
        "photo": SimpleUploadedFile("身份证.jpg", JPEG, "image/jpeg")})
    assert response.status_code == 302
    appeal = IdentityAppeal.objects.get()
    stored = (tmp_path / appeal.photo.name).read_bytes()
    assert JPEG not in stored and b"\xff\xd8\xff" not in stored  # encrypted at rest
    kept = identity.appeal_photo(appeal)  # re-encoded by Pillow: the same picture, nothing else
    assert kept.startswith(b"\xff\xd8\xff") and Image.open(io.BytesIO(kept)).size == Image.open(io.BytesIO(JPEG)).size

    service = staff_user("service", "客服")
    desk = Client()
    login_as(desk, service)
    page = desk.get(reverse("admin:enrollment_identityappeal_change", args=[appeal.pk])).content.decode()
    assert appeal.number in page and SELF_ID not in page and str(squatter) in page
    photo = desk.get(reverse("admin:enrollment_identityappeal_photo", args=[appeal.pk]))
    assert photo.content == kept and "no-store" in photo["Cache-Control"]
    assert photo["Content-Type"] == "image/jpeg" and photo["Content-Disposition"].startswith("attachment;")
    refused = desk.post(reverse("admin:enrollment_identityappeal_decide", args=[appeal.pk]), {"decision": "reject"})
    assert refused.status_code == 422 and "不通过时请填写审核意见" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        decided = desk.post(reverse("admin:enrollment_identityappeal_decide", args=[appeal.pk]),
                            {"decision": "approve", "note": "照片与身份证号一致"})
    assert decided.status_code == 302
    owner.refresh_from_db()
    squatter.refresh_from_db()
    appeal.refresh_from_db()
    assert owner.person.id_number == SELF_ID and squatter.person is None
    assert (appeal.status, appeal.decided_by) == ("approved", service)
    assert SmsMessage.objects.to(STRANGER_PHONE).filter(template_id=template_id("identity_released")).exists()
    assert SmsMessage.objects.to("13600000006").filter(template_id=template_id("identity_appeal_approved")).exists()
    event = Resident.pgh_event_model.objects.filter(pgh_obj=owner).latest("pgh_id")
    assert event.pgh_context.metadata["username"] == "service"


def test_only_customer_service_decides_appeals(registry, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    _, owner = signed_in("13600000006")
    appeal = identity.appeal_open(resident=owner, name="张桂兰", id_number=SELF_ID,
                                  photo=SimpleUploadedFile("id.jpg", JPEG, "image/jpeg"))
    reviewer = Client()
    login_as(reviewer, staff_user("reviewer", "理赔审核员"))
    assert reviewer.post(reverse("admin:enrollment_identityappeal_decide", args=[appeal.pk]),
                         {"decision": "approve"}).status_code == 403
    assert reviewer.get(reverse("admin:enrollment_identityappeal_photo", args=[appeal.pk])).status_code == 403
    appeal.refresh_from_db()
    assert appeal.status == "pending"


def test_checks_are_limited_per_account(registry, settings):
    settings.IDENTITY_CHECKS_PER_ACCOUNT_DAY = 2
    client, resident = signed_in("13600000006")
    assert bind(client, "张桂花", SELF_ID).status_code == 422
    assert bind(client, "李秀花", MOTHER_ID).status_code == 422
    limited = bind(client, "张桂兰", SELF_ID)
    assert limited.status_code == 429 and "实名核验次数过多" in limited.content.decode()
    assert list(VerificationAttempt.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "mismatch", "mismatch", "limited"]
    resident.refresh_from_db()
    assert resident.person is None


def test_failures_on_an_id_number_close_its_two_factor_checks_but_never_the_owners_mobile(registry, settings):
    settings.IDENTITY_FAILURES_PER_ID_DAY = 2
    for phone in ("13600000006", "13600000007"):
        client, _ = signed_in(phone)
        assert bind(client, "张桂花", SELF_ID).status_code == 422
    owner_client, owner = signed_in(OWNER_PHONE)
    closed = bind(owner_client, "张桂兰", SELF_ID)
    assert closed.status_code == 429 and "该身份证号今日核验失败次数过多" in closed.content.decode()
    assert "用本机号码验证并找回" in closed.content.decode()
    assert bind(owner_client, "张桂兰", SELF_ID, action="phone").status_code == 302
    owner.refresh_from_db()
    assert owner.person.id_number == SELF_ID
    assert list(VerificationAttempt.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "mismatch", "mismatch", "limited", "match"]


def test_checks_are_limited_per_ip_address(registry, settings):
    settings.IDENTITY_CHECKS_PER_IP_HOUR = 2
    for index in range(3):
        client, _ = signed_in(f"1360000000{index}")
        response = bind(client, "李秀英", MOTHER_ID)
    assert response.status_code == 429


def test_accounts_bound_before_verification_are_checked_once(registry, django_capture_on_commit_callbacks):
    right = make_resident(phone=OWNER_PHONE, name="张桂兰", id_number=SELF_ID)
    wrong = make_resident(phone=STRANGER_PHONE, name="李秀花", id_number=MOTHER_ID)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("identity_recheck")
    right.refresh_from_db()
    wrong.refresh_from_db()
    assert right.person.name_verified_at is not None and wrong.person is None
    assert SmsMessage.objects.to(STRANGER_PHONE).filter(template_id=template_id("identity_recheck_failed")).exists()
    assert set(VerificationAttempt.objects.values_list("purpose", "outcome")) == {("recheck", "match"),
                                                                                   ("recheck", "mismatch")}
