"""我的保单, the e-policy and its PDF, the order page, cancelling and auto-renewal as a resident sees them."""

import pytest
import time_machine
from django.urls import reverse

from enrollment import billing, renewal, services
from enrollment.models import Policy, ProductVersion, RenewalAuthorization
from portal.integrations.payments.simulator.models import SimContract
from portal.integrations.sms import template_id
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import (
    MOTHER_ID,
    SELF_ID,
    WEIHAI_ID,
    WEIHAI_SPOUSE_ID,
    login_as,
    make_resident,
    pay_on_provider,
    pending_order,
    roster,
)

pytestmark = pytest.mark.django_db


def pay(order):
    pay_on_provider(billing.payment_start(order=order, method="online"))
    assert billing.order_refresh(order=order) == "applied"


@pytest.fixture
def paid(client, products):
    roster(SELF_ID, "张桂兰")
    roster(MOTHER_ID, "李秀英")
    resident = make_resident()
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=True):
        order = pending_order(resident, ("张桂兰", SELF_ID, "self"), ("李秀英", MOTHER_ID, "parent"))
        pay(order)
    login_as(client, resident.user)
    return order


def test_my_policies_lists_everyone_the_resident_bought_for(client, paid):
    with time_machine.travel("2025-08-01 10:00 +08:00"):
        page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert "张桂兰（本人）" in page and "李秀英（父母）" in page and page.count("保障中") == 2


@pytest.mark.parametrize(("day", "label"), [("2025-06-20", "待生效"), ("2025-07-01", "保障中"),
                                            ("2026-06-30", "保障中"), ("2026-07-01", "已到期")])
def test_a_paid_policy_is_in_force_only_within_its_own_dates(client, paid, day, label):
    policy = paid.policies.get(relation="self")
    with time_machine.travel(f"{day} 10:00 +08:00"):
        listing = client.get(reverse("enrollment:my_policies")).content.decode()
        page = client.get(reverse("enrollment:policy_detail", args=[policy.number])).content.decode()
    assert f"<strong data-cover-state>{label}</strong>" in listing
    assert f"<dd data-cover-state>{label}</dd>" in page


def test_the_e_policy_shows_the_masked_id_only(client, paid):
    policy = paid.policies.get(relation="parent")
    page = client.get(reverse("enrollment:policy_detail", args=[policy.number])).content.decode()
    assert policy.number in page and MOTHER_ID[:6] + "********" + MOTHER_ID[-4:] in page
    assert MOTHER_ID not in page


def test_the_pdf_is_a_pdf_named_for_the_policy(client, paid):
    policy = paid.policies.first()
    response = client.get(reverse("enrollment:policy_pdf", args=[policy.number]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert f'filename="{policy.number}.pdf"' in response["Content-Disposition"]


def test_someone_elses_policy_is_not_found(client, paid):
    stranger = make_resident(phone="13900000001", name="李秀英", id_number=None)
    login_as(client, stranger.user)
    policy = paid.policies.first()
    assert client.get(reverse("enrollment:policy_detail", args=[policy.number])).status_code in (302, 404)


def test_the_insured_sees_a_policy_someone_else_bought_for_them(client, paid):
    mother = make_resident(phone="13900000002", name="李秀英", id_number=MOTHER_ID)
    login_as(client, mother.user)
    page = client.get(reverse("enrollment:my_policies")).content.decode()
    assert "李秀英" in page and "张桂兰" not in page


def test_the_return_page_poll_reports_payment(client, paid):
    response = client.get(reverse("enrollment:order_status", args=[paid.number]), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "支付成功" in page and "every 2s" not in page  # polling stops once paid


def test_cancelling_through_the_page_refunds(client, paid):
    policy = paid.policies.get(relation="parent")
    with time_machine.travel("2025-06-20 10:00 +08:00", tick=True):
        response = client.post(reverse("enrollment:policy_cancel", args=[policy.number]))
    assert response.status_code == 302
    assert Policy.objects.get(pk=policy.pk).status == Policy.CANCELLED


def test_cancelling_after_cover_started_explains_why(client, paid):
    policy = paid.policies.get(relation="parent")
    with time_machine.travel("2025-08-01 10:00 +08:00", tick=True):
        response = client.post(reverse("enrollment:policy_cancel", args=[policy.number]))
    assert response.status_code == 422 and "2025年7月1日" in response.content.decode()


# --- Weihai auto-renewal by consent --------------------------------------------------------


@pytest.fixture
def weihai_paid(client, products):
    roster(WEIHAI_ID, "王建国", category="employee")
    roster(WEIHAI_SPOUSE_ID, "刘芳")
    resident = make_resident(phone="13900000009", name="王建国", id_number=WEIHAI_ID)
    with time_machine.travel("2024-10-15 10:00 +08:00", tick=True):
        order = pending_order(resident, ("王建国", WEIHAI_ID, "self"), ("刘芳", WEIHAI_SPOUSE_ID, "spouse"),
                              product="weihai-2025", plan="standard")
        pay(order)
    login_as(client, resident.user)
    return order


def next_weihai_version():
    source = ProductVersion.objects.get(slug="weihai-2025")
    version = services.version_copy(version=source, slug="weihai-2026", year=2026)
    version.sales_start, version.sales_end = source.sales_start.replace(year=2025), source.sales_end.replace(year=2025)
    version.coverage_start, version.coverage_end = source.coverage_start.replace(year=2026), source.coverage_end.replace(year=2026)
    version.save()
    return services.version_publish(version=version)


def opt_in(client, policy, channel="wechatpay", sign=True):
    """Opt in on /renewal/, sign the withholding contract on the provider's page, come back."""
    from portal.integrations.payments.simulator import provider

    response = client.post(reverse("enrollment:renewal"),
                           {"policy": policy.number, "consent": "auto_renewal", "channel": channel})
    assert response.status_code == 302, response.content.decode()
    if channel == "alipay":  # the browser opens Alipay's gateway, which leads to its signing page
        import requests

        response = requests.get(response.url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
    contract_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    if sign:
        provider.contract_sign(contract_id=contract_id)
    return client.get(reverse("enrollment:renewal"))


@pytest.mark.parametrize("channel", ["wechatpay", "alipay"])
def test_opting_in_records_the_consent_text_and_signs_a_contract_with_the_provider(client, weihai_paid, channel):
    policy = weihai_paid.policies.get(relation="spouse")
    page = opt_in(client, policy, channel)
    assert page.status_code == 200 and "已开通自动续保" in page.content.decode()
    authorization = RenewalAuthorization.objects.get()
    assert authorization.consent.text.kind == "auto_renewal" and authorization.consent.text.version == "2025.1"
    contract = SimContract.objects.get(out_contract_code=authorization.contract_code)
    assert contract.channel == channel and contract.state == "SIGNED"
    assert authorization.agreement_no == contract.contract_id


def test_a_contract_not_signed_on_the_provider_renews_nothing(client, weihai_paid):
    spouse = weihai_paid.policies.get(relation="spouse")
    page = opt_in(client, spouse, sign=False)
    assert "尚未完成签约" in page.content.decode()
    assert renewal.renewal_orders_create(version=next_weihai_version()) == []


def test_opting_in_without_consent_is_refused(client, weihai_paid):
    policy = weihai_paid.policies.first()
    response = client.post(reverse("enrollment:renewal"), {"policy": policy.number})
    assert response.status_code == 422 and not RenewalAuthorization.objects.exists()


@pytest.mark.parametrize("channel", ["wechatpay", "alipay"])
def test_renewal_orders_are_charged_for_consenting_people_only(client, weihai_paid, channel):
    spouse = weihai_paid.policies.get(relation="spouse")
    opt_in(client, spouse, channel)
    version = next_weihai_version()
    orders = renewal.renewal_orders_create(version=version)
    assert len(orders) == 1
    renewed = Policy.objects.get(version=version)
    assert renewed.person == spouse.person and renewed.status == Policy.ACTIVE and renewed.channel == "renewal"
    notice = SmsMessage.objects.to(weihai_paid.resident.phone).get(template_id=template_id("renewal_notice"))
    assert f"{spouse.person.name}的{version.name}将自动续保，保费{renewed.premium}元" in notice.body
    assert renewed.order.payments.get().provider == channel
    assert renewal.renewal_orders_create(version=version) == []  # never charged twice


def test_a_revoked_authorization_renews_nothing(client, weihai_paid):
    spouse = weihai_paid.policies.get(relation="spouse")
    opt_in(client, spouse)
    authorization = RenewalAuthorization.objects.get()
    client.post(reverse("enrollment:renewal"), {"action": "revoke", "authorization": authorization.pk})
    assert RenewalAuthorization.objects.get().revoked_at is not None
    assert SimContract.objects.get().state == "TERMINATED"
    assert renewal.renewal_orders_create(version=next_weihai_version()) == []


def test_wuwei_does_not_offer_auto_renewal(client, paid):
    policy = paid.policies.first()
    response = client.post(reverse("enrollment:renewal"), {"policy": policy.number, "consent": "auto_renewal"})
    assert response.status_code == 422 and "不提供自动续保" in response.content.decode()
