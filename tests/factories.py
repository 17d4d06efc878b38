"""Builders shared by the tests: valid ID numbers, roster entries, residents, pending orders."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import User

from enrollment import services
from enrollment.models import Plan, Resident
from enrollment.selectors import PersonInput
from portal import crypto
from portal.simulators.models import RosterEntry

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def make_id(first17: str) -> str:
    """A valid 18-character ID number from its first 17 digits (GB 11643 check character)."""
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


SELF_ID = make_id("62060219750520123")  # 张桂兰, 1975, Wuwei
MOTHER_ID = make_id("62060219500315122")  # 李秀英, 1950, Wuwei
CHILD_ID = make_id("62060220150601001")  # 张小宝, 2015: a minor
LANZHOU_ID = make_id("62010219800101002")  # insured in Lanzhou, not Wuwei
UNINSURED_ID = make_id("62060219900101003")
WEIHAI_ID = make_id("37100219800101123")  # 王建国, Weihai employee
WEIHAI_SPOUSE_ID = make_id("37100219820202124")  # 刘芳
WEIHAI_FRIEND_ID = make_id("37100219850303125")  # 陈明


def roster(id_number, name, status="in_force", region=None, category="resident", balance="0.00", family=(), **flags):
    """A person on the simulated registry's roster; ``family``: the ID numbers bound for 家庭共济."""
    return RosterEntry.objects.create(
        family_hashes=[crypto.blind_index(number) for number in family],
        id_hash=crypto.blind_index(id_number),
        id_masked=id_number[:6] + "********" + id_number[-4:],
        name=name,
        status=status,
        insured_region=region or id_number[:6],
        category=category,
        account_balance=Decimal(balance),
        **flags,
    )


def carrier_line(phone, id_number, name, isp="移动"):
    """The simulated carrier's record: ``phone`` is registered to this name and ID number."""
    from portal.integrations.identity.simulator import carrier

    return carrier.line_set(phone=phone, id_number=id_number, name=name, isp=isp)


def add_member(organization, by, resident, role="operator"):
    """``by`` (a manager) invites ``resident``'s mobile and ``resident`` accepts: the membership."""
    from enrollment import organizations

    invitation = organizations.member_invite(organization=organization, by=by, phone=resident.phone, role=role)
    return organizations.invitation_answer(invitation_id=invitation.pk, resident=resident, accept=True)


def make_resident(phone="13800000001", name="张桂兰", id_number=SELF_ID) -> Resident:
    user = User.objects.create_user(username=f"p:{crypto.blind_index(phone)}")
    user.set_unusable_password()
    user.save()
    person = services.person_get_or_create(name=name, id_number=id_number) if id_number else None
    return Resident.objects.create(user=user, phone=phone, person=person)


def pending_order(resident, *people, product="wuwei-2025", plan="basic"):
    """A pending order (the sales window must be open: wrap in time_machine)."""
    return services.order_create(
        resident=resident,
        plan=Plan.objects.get(version__slug=product, code=plan),
        people=[PersonInput(*person) for person in people] or [PersonInput(resident.person.name,
                                                                            resident.person.id_number, "self")],
        accepted={"terms", "privacy"},
    )


def pay_on_provider(payment, action="pay"):
    """The payer on the provider's side: opens the payment link (Alipay creates its trade only then)
    and presses 确认支付 (``pay``) or 模拟余额不足 (``insufficient``). Returns the provider's trade."""
    import requests

    from portal.integrations.payments.simulator import provider
    from portal.integrations.payments.simulator.models import SimTrade

    if payment.provider == "alipay":
        requests.get(payment.pay_url, allow_redirects=False, timeout=10)
    trade = SimTrade.objects.get(out_trade_no=payment.out_trade_no, channel=payment.provider)
    if action == "insufficient":
        return provider.trade_refuse_for_balance(transaction_id=trade.transaction_id)
    return provider.trade_pay(transaction_id=trade.transaction_id)


def active_policy(resident, *people, product="wuwei-2025", plan="basic", when="2025-06-15 10:00 +08:00",
                  channel="wechatpay"):
    """A paid order's policies (the purchase happens inside its sales window)."""
    import time_machine

    from enrollment import billing

    with time_machine.travel(when, tick=True):
        order = pending_order(resident, *people, product=product, plan=plan)
        payment = billing.payment_start(order=order, method="online", channel=channel)
        pay_on_provider(payment)
        billing.order_refresh(order=order)
    return order.policies.get() if order.policies.count() == 1 else order.policies.all()


def settlement_source(program_code="wuwei", secret="feed-secret", key_id="WW-FEED-1"):
    from claims.models import SettlementSource
    from enrollment.models import Program

    return SettlementSource.objects.create(
        code=key_id.lower(), name="武威市一站式结算平台", program=Program.objects.get(code=program_code),
        key_id=key_id, secret_cipher=crypto.encrypt(secret),
    )


def settlement_record(settlement_id="S1", *, id_number=SELF_ID, settled="2025-08-09T10:00:00+08:00",
                      admission="2025-08-01", pre_existing=False, **amounts):
    amounts = {key: str(value) for key, value in amounts.items()} or {"in_catalog_self_pay": "30000.00"}
    total = sum((Decimal(v) for v in amounts.values()), Decimal("0")) + Decimal("1000.00")
    return {
        "settlement_id": settlement_id, "id_number": id_number, "name": "张桂兰",
        "hospital_code": "H620600001", "hospital_name": "武威市人民医院", "hospital_level": 3,
        "designated": True, "in_region": True, "visit_type": "inpatient",
        "admission_date": admission, "discharge_date": admission, "settled_at": settled,
        "diagnoses": ["I63.9"], "pre_existing": pre_existing,
        "amounts": {"total": f"{total:.2f}", **amounts},
    }


def staff_user(username="reviewer", *groups, superuser=False):
    """A staff account in the named groups (the roles made by the claims and supervision migrations)."""
    from django.contrib.auth.models import Group

    from claims import roles as claims_roles
    from enrollment import roles as enrollment_roles
    from portal.staff import roles as staff_roles
    from supervision import roles as supervision_roles

    claims_roles.ensure()  # a transactional test empties the tables the migrations filled
    supervision_roles.ensure()
    enrollment_roles.ensure()
    staff_roles.ensure()
    user = User.objects.create_user(username=username, password="staff-pass-2025", is_staff=True,
                                    is_superuser=superuser)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def totp_device(user):
    """The staff member's confirmed authenticator (made with a random key on first use)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=True)


def totp_code(device) -> str:
    """The code an authenticator app shows now for ``device`` (computed from its key, as the app does)."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def pass_second_factor(page, device):
    """In a browser on the second-factor page: type the authenticator's current code."""
    page.wait_for_selector("#id_token")
    page.fill("#id_token", totp_code(device))
    page.click("#otp-form button[type=submit]")


def login_as(client, user):
    """``client.force_login``; a staff account's session is also marked as having passed the second
    factor with its authenticator (as after the second-factor page)."""
    client.force_login(user)
    if user.is_staff:
        from django_otp import DEVICE_ID_SESSION_KEY

        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()


def sold_policy(slug: str, name: str, id_number: str, *, number: str, channel: str = "self",
                activated: str = "2025-06-10 00:00 +08:00"):
    """An active policy written straight into the tables (for figures, not for the buying flow)."""
    from datetime import datetime

    from django.utils import timezone

    from enrollment.models import Order, Person, Policy, ProductVersion

    version = ProductVersion.objects.get(slug=slug)
    person = Person(name=name)
    person.set_id_number(id_number)
    person.save()
    order = Order.objects.create(number=f"O{number}", version=version, channel=channel, amount=Decimal("69.00"),
                                 status=Order.PAID, expires_at=timezone.now())
    return Policy.objects.create(
        number=f"P{number}", person=person, version=version, order=order, channel=channel,
        plan=Plan.objects.filter(version=version).first(), premium=Decimal("69.00"),
        coverage_start=version.coverage_start, coverage_end=version.coverage_end, status=Policy.ACTIVE,
        activated_at=datetime.strptime(activated, "%Y-%m-%d %H:%M %z"))


def card_number(prefix="621700001000", length=19) -> str:
    """A bank card number that passes the Luhn check."""
    from stdnum import luhn

    body = (prefix + "0" * length)[:length - 1]
    return body + luhn.calc_check_digit(body)


def bank_card(number, id_number, name, phone, status="0"):
    """The simulated bank's record: ``number`` was issued to this person with ``phone`` reserved."""
    from portal.integrations.identity.simulator import carrier

    return carrier.card_set(card_number=number, id_number=id_number, name=name, phone=phone, status=status)


def verified_payee(person, number=None):
    """A payee as if verified earlier (the verification itself is tested in test_payees)."""
    from django.utils import timezone

    from claims.models import Payee

    number = number or card_number()
    return Payee.objects.create(
        person=person, kind=Payee.BANK_CARD, holder=Payee.SELF, holder_name=person.name,
        holder_id_masked=person.id_masked, holder_id_hash=person.id_hash, card_cipher=crypto.encrypt(number),
        card_hash=crypto.blind_index(number), card_masked=f"{number[:4]} **** **** {number[-4:]}",
        phone_masked="138****0001", verified_at=timezone.now())
