"""The permission matrix: every route (tests/routes.py) × every actor gets the expected answer, and a
route without an entry in the catalogue fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import routes
from tests.documents import PDF
from tests.factories import (
    CHILD_ID,
    MOTHER_ID,
    SELF_ID,
    active_policy,
    add_member,
    login_as,
    make_id,
    make_resident,
    pay_on_provider,
    pending_order,
    roster,
    staff_user,
)

IN_SALES_WINDOW = "2025-06-15 10:00 +08:00"

GUARDIAN_ID = make_id("62060219780808123")
OTHER_ID = make_id("62060219790909123")
OPERATOR_ID = make_id("62060219700101123")
OTHER_OPERATOR_ID = make_id("62060219710202123")
MEMBER_ID = make_id("62060219720303123")
WORKER_ID = make_id("62060219800101011")
COUNTER_RESIDENT_ID = make_id("62060219450606123")


def _names(patterns, prefix="") -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names += _names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern):
            names.append(f"{prefix}{pattern.name}")
    return names


def test_every_route_is_catalogued():
    names = _names(get_resolver().url_patterns)
    missing = sorted(set(names) - set(routes.ROUTES))
    assert not missing, f"routes without an entry in tests/routes.py: {missing}"
    stale = sorted(set(routes.ROUTES) - set(names))
    assert not stale, f"entries in tests/routes.py for routes that no longer exist: {stale}"
    for name, route in routes.ROUTES.items():
        assert set(route.access) <= {"default", *routes.ACTORS}, name


def _credit_code(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17)


def _organization(manager, name, code):
    from enrollment import organizations

    organization = organizations.organization_register(
        resident=manager, name=name, credit_code=_credit_code(code), kind="employer", contact_name="马",
        contact_phone="0935-1234567")
    organization.approve()
    organization.save()
    return organization


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, simulator_server, tmp_path_factory):
    """One of everything, owned by someone: the objects the routes' arguments name. Built once for
    the module inside a transaction that is rolled back at its end; each test's own changes are
    rolled back after it (the ``db`` fixture's savepoint)."""
    from django.db import connections, transaction
    from django.test import override_settings

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PRIVATE_MEDIA_ROOT=tmp_path_factory.mktemp("private")), \
                    time_machine.travel(IN_SALES_WINDOW, tick=True):
                simulator_server.share(connections["default"])  # the connection, not the proxy
                try:
                    built = _build()
                finally:
                    simulator_server.unshare()
                yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _build():
    from claims import services as claims_services
    from enrollment import billing, lists, organizations
    from enrollment import services as enrollment_services
    from enrollment.models import BeneficiaryList, Campaign, CoInsurer, Plan, ProductVersion
    from portal.integrations.payments.simulator import provider as sim_provider
    from portal.integrations.payments.simulator.models import SimTrade
    from supervision import services as supervision_services
    from supervision.models import InsurerStaff

    enrollment_services.products_load()
    for id_number, name in ((SELF_ID, "张桂兰"), (MOTHER_ID, "李秀英"), (CHILD_ID, "张小宝"), (GUARDIAN_ID, "张建军"),
                            (OTHER_ID, "王五"), (OPERATOR_ID, "马经理"), (OTHER_OPERATOR_ID, "牛经理"),
                            (MEMBER_ID, "朱经办"), (WORKER_ID, "赵一")):
        roster(id_number, name)
    w = SimpleNamespace()
    w.version = ProductVersion.objects.get(slug="wuwei-2025")
    w.plan = Plan.objects.get(version=w.version, code="basic")
    w.owner = make_resident("13800000001", "张桂兰", SELF_ID)
    w.policy = active_policy(w.owner)
    w.order = w.policy.order
    w.sim_transaction = SimTrade.objects.get(out_trade_no=w.order.payments.get().out_trade_no).transaction_id
    w.sim_contract = sim_provider.contract_presign(
        channel="wechatpay", merchant="1900000109", out_contract_code="C1", display_account="*兰",
        notify_url="http://127.0.0.1/notify", return_url="").contract_id
    w.pending_order = pending_order(w.owner, ("李秀英", MOTHER_ID, "parent"))
    w.guardian = make_resident("13800000003", "张建军", GUARDIAN_ID)
    w.child_policy = active_policy(w.guardian, ("张小宝", CHILD_ID, "child"))
    w.other = make_resident("13800000002", "王五", OTHER_ID)

    w.operator = make_resident("13800000004", "马经理", OPERATOR_ID)
    w.organization = _organization(w.operator, "武威市示例建材有限公司", "91620600MA71X0AB3")
    member = make_resident("13800000006", "朱经办", MEMBER_ID)
    w.member = add_member(w.organization, w.operator, member)
    w.campaign = organizations.campaign_create(
        organization=w.organization, by=w.operator, kind="nuanren", name="暖人心·职工关爱", plan=w.plan,
        target_group="本单位职工", target_count=10, budget=Decimal("690.00"), description="")
    w.beneficiaries = lists.list_upload(
        resident=w.operator, plan=w.plan, filename="名单.csv", organization=w.organization,
        data=f"姓名,身份证号,手机号\n赵一,{WORKER_ID},\n".encode())
    assert lists.list_validate(list_id=w.beneficiaries.pk) == BeneficiaryList.VALIDATED
    w.beneficiaries.refresh_from_db()
    w.row = w.beneficiaries.rows.get()
    paid_list = lists.list_upload(
        resident=w.operator, plan=w.plan, filename="名单2.csv", organization=w.organization,
        data=f"姓名,身份证号,手机号\n朱经办,{MEMBER_ID},\n马经理,{OPERATOR_ID},\n".encode())
    lists.list_validate(list_id=paid_list.pk)
    w.paid_list = BeneficiaryList.objects.get(pk=paid_list.pk)
    w.org_order = lists.list_confirm(beneficiaries=w.paid_list, by=w.operator, declared=True)
    pay_on_provider(billing.payment_start(order=w.org_order, method="online"))
    billing.order_refresh(order=w.org_order)
    w.invitation = organizations.member_invite(organization=w.organization, by=w.operator, phone=w.other.phone,
                                               role="operator")
    w.member_row = w.paid_list.rows.get(name="朱经办")
    w.member_policy = w.member_row.policy
    w.operator_policy = w.paid_list.rows.get(name="马经理").policy
    assert w.member_policy.status == w.operator_policy.status == "active"
    gift = enrollment_services.version_copy(version=w.version, slug="wuwei-2026", year=2026)
    gift.coverage_start, gift.coverage_end = date(2026, 1, 1), date(2026, 12, 31)
    gift.save()
    enrollment_services.version_publish(version=gift)
    w.gift_policy = active_policy(w.guardian, ("张桂兰", SELF_ID, "other"), product="wuwei-2026")
    w.other_operator = make_resident("13800000005", "牛经理", OTHER_OPERATOR_ID)
    _organization(w.other_operator, "凉州区示例农业合作社", "93620602MA71X0AB4")

    w.submission = claims_services.claim_submission_create(
        resident=w.owner, policy=w.policy, hospital_name="兰州大学第一医院", admission_date=w.version.coverage_start,
        discharge_date=w.version.coverage_start, description="异地住院",
        files=[SimpleUploadedFile("结算单.pdf", PDF, "application/pdf")])
    w.document = w.submission.documents.get()
    w.claim, w.claim_document = _claim_with_document(w)
    w.ticket = supervision_services.ticket_open(
        resident=w.owner, kind="enquiry", subject="咨询", body="请问保障何时开始？",
        attachment=SimpleUploadedFile("附件.pdf", PDF, "application/pdf"))
    w.ticket_message = w.ticket.messages.get()

    w.users = {routes.OWNER: w.owner.user, routes.OTHER: w.other.user, routes.GUARDIAN: w.guardian.user,
               routes.OPERATOR: w.operator.user, routes.OTHER_OPERATOR: w.other_operator.user,
               routes.REVIEWER: staff_user("reviewer", "理赔审核员"), routes.AUDITOR: staff_user("auditor", "理赔审计员"),
               routes.BUREAU: staff_user("bureau", "医保局监管"), routes.INSURER: staff_user("insurer", "保险公司"),
               routes.SERVICE: staff_user("service", "客服"), routes.COUNTER: staff_user("counter", "柜面经办"),
               routes.SUPERUSER: staff_user("root", superuser=True)}
    from enrollment import counter
    from enrollment.models import ServicePoint

    roster(COUNTER_RESIDENT_ID, "孙大爷")
    w.service_point = ServicePoint.objects.create(program=w.version.program, name="凉州区服务网点")
    shift = counter.shift_open(staff=w.users[routes.COUNTER], service_point=w.service_point)
    w.counter_order = counter.enroll(
        shift=shift, staff=w.users[routes.COUNTER], plan=w.plan, name="孙大爷", id_number=COUNTER_RESIDENT_ID,
        phone="", id_card_checked=True, consent_scan=SimpleUploadedFile("授权书.pdf", PDF, "application/pdf"),
        method="counter_cash")
    InsurerStaff.objects.create(user=w.users[routes.INSURER],
                                coinsurer=CoInsurer.objects.filter(program__code="wuwei", is_lead=True).first())
    assert Campaign.objects.filter(pk=w.campaign.pk).exists()
    return w


def _claim_with_document(w):
    """The owner's claim held for review, with documents she uploaded on request."""
    from django.utils import timezone

    from claims.models import Claim, ClaimDocument, DocumentRequest, Settlement
    from portal import storage
    from tests.factories import settlement_source

    settlement = Settlement.objects.create(
        source=settlement_source(), settlement_id="S-WORLD", record={}, content_hash="x",
        id_hash=w.policy.person.id_hash, id_masked=w.policy.person.id_masked, name=w.policy.person.name,
        hospital_code="H1", hospital_name="武威市人民医院", admission_date=w.version.coverage_start,
        settled_at=timezone.now(), pre_existing=False, policy=w.policy, match_status="matched")
    claim = Claim.objects.create(settlement=settlement, policy=w.policy, state=Claim.PENDING_REVIEW)
    request = DocumentRequest.objects.create(claim=claim, reason="请补充出院小结",
                                             requested_by=staff_user("requester", "理赔审核员"),
                                             answered_at=timezone.now())
    sealed = storage.sealed(storage.Document(PDF, "application/pdf"))
    sealed.name = "world.bin"
    document = ClaimDocument.objects.create(request=request, file=sealed,
                                            original_name="出院小结.pdf", content_type="application/pdf",
                                            size=len(PDF))
    return claim, document


@dataclass(frozen=True)
class Answer:
    status: int
    location: str

    @property
    def kind(self) -> str:
        if self.status >= 500:
            return f"server error {self.status}"
        if self.status in (301, 302, 303, 307, 308) and ("/account/login/" in self.location
                                                         or "/admin/login/" in self.location):
            return routes.LOGIN
        if self.status in (403, 404):
            return routes.DENIED
        if self.status == 401:
            return routes.UNSIGNED
        if self.status == 405:
            return "method not allowed"
        return routes.OK


def _ask(w, actor: str, name: str, route: routes.Route) -> Answer:
    client = Client()
    if actor != routes.ANONYMOUS:
        login_as(client, w.users[actor])
    url = reverse(name, args=route.args(w) if route.args else None)
    if route.method == "POST":
        response = client.post(url, route.data(w) if route.data else {}, **route.headers)
    else:
        response = client.get(url, route.query, **route.headers)
    return Answer(response.status_code, response.get("Location", ""))


# The owner and the operator act last: their POSTs may change what the others would see.
ORDER = [a for a in routes.ACTORS if a not in (routes.OWNER, routes.OPERATOR)] + [routes.OWNER, routes.OPERATOR]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(routes.ROUTES))
def test_each_actor_gets_the_expected_answer(world, name):
    route = routes.ROUTES[name]
    wrong = {}
    for actor in ORDER:
        expected = route.access.get(actor, route.access["default"])
        answer = _ask(world, actor, name, route)
        if answer.kind != expected:
            wrong[actor] = f"expected {expected}, got {answer.kind} ({answer.status} {answer.location})"
    assert not wrong, wrong


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "what"), [(name, what) for name, what, _ in routes.MORE])
def test_each_actor_gets_the_expected_answer_on_other_objects(world, name, what):
    route = next(r for n, w, r in routes.MORE if (n, w) == (name, what))
    wrong = {}
    for actor in ORDER:
        expected = route.access.get(actor, route.access["default"])
        answer = _ask(world, actor, name, route)
        if answer.kind != expected:
            wrong[actor] = f"expected {expected}, got {answer.kind} ({answer.status} {answer.location})"
    assert not wrong, wrong


@pytest.mark.django_db
def test_the_admin_lets_each_role_see_only_what_its_permissions_allow(world):
    """Every registered model's list in the admin: the anonymous and residents are sent to the admin's
    sign-in, a staff member sees it only with a view or change permission on the model."""
    wrong = {}
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        for actor in routes.ACTORS:
            client = Client()
            user = world.users.get(actor)
            if user is not None:
                login_as(client, user)
            response = client.get(url)
            answer = Answer(response.status_code, response.get("Location", "")).kind
            if user is None or not user.is_staff:
                expected = routes.LOGIN
            elif any(user.has_perm(f"{meta.app_label}.{perm}_{meta.model_name}") for perm in ("view", "change")):
                expected = routes.OK
            else:
                expected = routes.DENIED
            if answer != expected:
                wrong[f"{meta.label} × {actor}"] = f"expected {expected}, got {answer} ({response.status_code})"
    assert not wrong, wrong
