"""Every URL pattern of the project: how to call it and who may.

One catalogue read by every suite that walks the whole site:

- the permission matrix (``tests/functional/test_permission_matrix.py``): each route × each actor
  gets the expected answer;
- the malformed-argument crawler (no input gives a 5xx);
- the phone layout test (every page at 360 and 390 px in both text sizes): routes with ``page=True``.

``test_every_route_is_catalogued`` fails when a URL pattern has no entry here: a new route needs
its row (and, if it is a page a person reads, ``page=True``). The Django admin's generated routes
are checked as one family (``ADMIN``), not one by one.

Expected answers (``Route.access`` maps an actor to one; ``default`` covers the rest):

- ``ok``: 2xx, or a redirect that is not to a sign-in page;
- ``login``: a redirect to the resident or admin sign-in page;
- ``denied``: 403 or 404 (a resource that is not yours is not found);
- ``unsigned``: 401 (machine APIs without a valid signature).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ANONYMOUS = "anonymous"
OWNER = "owner"  # a resident who bought for herself (the insured person), with a claim, an order, a ticket
OTHER = "other"  # another bound resident, no relation to the owner
GUARDIAN = "guardian"  # a resident who bought for a minor child
OPERATOR = "operator"  # the manager of organization A (its list, order, campaign)
OTHER_OPERATOR = "other_operator"  # the manager of organization B
REVIEWER = "reviewer"  # 理赔审核员
AUDITOR = "auditor"  # 理赔审计员
BUREAU = "bureau"  # 医保局监管
INSURER = "insurer"  # 保险公司 (Wuwei's lead insurer)
SERVICE = "service"  # 客服
COUNTER = "counter"  # 柜面经办 (staff at a service point, with an open cashier shift)
SUPERUSER = "superuser"

RESIDENTS = (OWNER, OTHER, GUARDIAN, OPERATOR, OTHER_OPERATOR)
STAFF = (REVIEWER, AUDITOR, BUREAU, INSURER, SERVICE, COUNTER, SUPERUSER)
ACTORS = (ANONYMOUS, *RESIDENTS, *STAFF)

OK, LOGIN, DENIED, UNSIGNED = "ok", "login", "denied", "unsigned"


@dataclass(frozen=True)
class Route:
    """``args(world)`` gives the URL's arguments; ``method`` is the one that does the work;
    ``data(world)`` the POST body (when it matters)."""

    access: dict[str, str]
    args: Callable | None = None
    method: str = "GET"
    data: Callable | None = None
    page: bool = False
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def everyone(answer=OK) -> dict[str, str]:
    return {"default": answer}


def residents_only() -> dict[str, str]:
    """Any signed-in resident with a bound real name; staff accounts are not residents."""
    return {"default": DENIED, ANONYMOUS: LOGIN, **{actor: OK for actor in RESIDENTS}}


def only(*actors: str) -> dict[str, str]:
    """Signed-in residents get ``denied`` except the named actors."""
    return {"default": DENIED, ANONYMOUS: LOGIN, **{actor: OK for actor in actors}}


def staff_only(*actors: str) -> dict[str, str]:
    """Staff pages: the anonymous go to the admin's sign-in, anyone else but the named is refused."""
    return {"default": DENIED, ANONYMOUS: LOGIN, **{actor: OK for actor in actors}}


ROUTES: dict[str, Route] = {
    # Public pages
    "home": Route(everyone(), page=True),
    "product_detail": Route(everyone(), args=lambda w: [w.version.slug], page=True),
    "text_size": Route(everyone(), method="POST", data=lambda w: {"size": "large", "next": "/"}),
    "health": Route(everyone()),
    "health_live": Route(everyone()),
    # Sign-in and real-name binding
    "enrollment:login": Route(everyone(), page=True),
    "enrollment:send_code": Route(everyone(), method="POST", data=lambda w: {"phone": "13900000099"}),
    "enrollment:logout": Route(everyone(), method="POST"),
    "enrollment:bind": Route({"default": OK, ANONYMOUS: LOGIN, **{s: DENIED for s in STAFF}}, page=True),
    "enrollment:bind_appeal": Route({"default": OK, ANONYMOUS: LOGIN, **{s: DENIED for s in STAFF}}, page=True),
    # 我的账户: personal information rights
    "enrollment:account": Route(residents_only(), page=True),
    "enrollment:account_data": Route(residents_only(), args=lambda w: ["json"]),
    "enrollment:account_code": Route(residents_only(), method="POST", data=lambda w: {"to": "own"}),
    "enrollment:phone_change": Route(residents_only(), page=True),
    "enrollment:consent_withdraw": Route(only(OWNER), args=lambda w: [w.owner.person_id, "privacy"], page=True),
    "enrollment:account_close": Route(residents_only(), page=True),
    # Buying
    "enrollment:buy_plan": Route(everyone(), args=lambda w: [w.version.slug], page=True),
    "enrollment:buy_people": Route(residents_only(), args=lambda w: [w.version.slug, w.plan.code], page=True),
    "enrollment:check_person": Route(residents_only(), args=lambda w: [w.version.slug, w.plan.code, 0],
                                     method="POST", data=lambda w: {"name-0": "", "id_number-0": ""}),
    "enrollment:person_row": Route(residents_only(), args=lambda w: [w.version.slug, w.plan.code],
                                   query={"index": "1"}),
    "enrollment:estimate": Route(everyone(), args=lambda w: [w.version.slug, w.plan.code], page=True),
    "enrollment:order_detail": Route(only(OWNER), args=lambda w: [w.order.number], page=True),
    "enrollment:my_policies": Route(residents_only(), page=True),
    "enrollment:policy_detail": Route(only(OWNER), args=lambda w: [w.policy.number], page=True),
    "enrollment:policy_pdf": Route(only(OWNER), args=lambda w: [w.policy.number]),
    "enrollment:policy_verify": Route(everyone(), page=True),
    "enrollment:renewal": Route(residents_only(), page=True),
    # Paying
    "enrollment:pay_notify": Route(everyone(UNSIGNED), args=lambda w: ["wechatpay"], method="POST"),
    "enrollment:order_pay": Route(only(OWNER), args=lambda w: [w.pending_order.number], method="POST",
                                  data=lambda w: {"method": "online", "channel": "wechatpay"}),
    "enrollment:order_return": Route(only(OWNER), args=lambda w: [w.order.number], page=True),
    "enrollment:order_status": Route(only(OWNER), args=lambda w: [w.order.number]),
    "enrollment:policy_cancel": Route(only(OWNER), args=lambda w: [w.policy.number], page=True),
    # Organizations, campaigns, lists
    "enrollment:org_home": Route(residents_only(), page=True),
    "enrollment:org_register": Route(residents_only(), page=True),
    "enrollment:org_detail": Route(only(OPERATOR), args=lambda w: [w.organization.pk], page=True),
    "enrollment:member_remove": Route(only(OPERATOR), args=lambda w: [w.organization.pk, w.member.pk],
                                      method="POST"),
    "enrollment:invitation_revoke": Route(only(OPERATOR), args=lambda w: [w.organization.pk, w.invitation.pk],
                                          method="POST"),
    "enrollment:invitation_answer": Route(only(OTHER), args=lambda w: [w.invitation.pk], method="POST",
                                          data=lambda w: {"answer": "accept"}),
    "enrollment:org_tax": Route(only(OPERATOR), args=lambda w: [w.organization.pk]),
    "enrollment:org_payroll": Route(only(OPERATOR), args=lambda w: [w.organization.pk], method="POST",
                                    data=lambda w: {"year": "2025", "amount": "1000000.00"}),
    "enrollment:campaign_new": Route(only(OPERATOR), args=lambda w: [w.organization.pk], page=True),
    "enrollment:campaign_list": Route(everyone(), page=True),
    "enrollment:campaign_detail": Route(everyone(), args=lambda w: [w.campaign.slug], page=True),
    "enrollment:list_new": Route(residents_only(), page=True, query={}),
    "enrollment:list_template": Route(everyone(), args=lambda w: ["xlsx"]),
    "enrollment:list_detail": Route(only(OPERATOR), args=lambda w: [w.beneficiaries.number], page=True),
    "enrollment:list_progress": Route(only(OPERATOR), args=lambda w: [w.beneficiaries.number]),
    "enrollment:row_edit": Route(only(OPERATOR), args=lambda w: [w.beneficiaries.number, w.row.pk],
                                 method="POST", data=lambda w: {"action": "drop"}),
    "enrollment:row_cancel": Route(only(OPERATOR), args=lambda w: [w.paid_list.number, w.member_row.pk],
                                   method="POST"),
    "enrollment:list_report": Route(only(OPERATOR), args=lambda w: [w.beneficiaries.number]),
    "enrollment:list_confirm": Route(only(OPERATOR), args=lambda w: [w.beneficiaries.number], method="POST"),
    "enrollment:list_revalidate": Route(only(OPERATOR), args=lambda w: [w.beneficiaries.number], method="POST"),
    "enrollment:list_pay": Route(only(OPERATOR), args=lambda w: [w.paid_list.number], method="POST",
                                 data=lambda w: {"method": "online"}),
    "enrollment:order_receipt": Route(only(OPERATOR), args=lambda w: [w.org_order.number]),
    # The staff second factor (portal/staff): the step after the password, enrolment, devices, passkeys
    "staff_otp:verify": Route(staff_only(*STAFF), page=True),
    "staff_otp:setup": Route(staff_only(*STAFF), page=True),
    "staff_otp:devices": Route(staff_only(*STAFF), page=True),
    "otp_webauthn:credential-registration-begin": Route({"default": DENIED, **{s: OK for s in STAFF}}, method="POST"),
    "otp_webauthn:credential-registration-complete": Route({"default": DENIED, **{s: OK for s in STAFF}},
                                                           method="POST"),
    "otp_webauthn:credential-authentication-begin": Route({"default": DENIED, **{s: OK for s in STAFF}},
                                                          method="POST"),
    "otp_webauthn:credential-authentication-complete": Route(
        {"default": DENIED, **{s: OK for s in STAFF}}, method="POST"),
    "otp_webauthn:js-i18n-catalog": Route(everyone()),
    # The service-point counter (staff)
    "enrollment:counter_home": Route(staff_only(COUNTER, SUPERUSER), page=True),
    "enrollment:counter_shift_open": Route(staff_only(COUNTER, SUPERUSER), method="POST",
                                           data=lambda w: {"service_point": w.service_point.pk}),
    "enrollment:counter_shift_close": Route(staff_only(COUNTER, SUPERUSER), method="POST",
                                            data=lambda w: {"cash_counted": "69.00"}),
    "enrollment:counter_enroll": Route(staff_only(COUNTER, SUPERUSER), page=True),
    "enrollment:counter_enrollment": Route(staff_only(COUNTER, SUPERUSER), args=lambda w: [w.counter_order.number],
                                           page=True),
    "enrollment:counter_policy_pdf": Route(staff_only(COUNTER, SUPERUSER), args=lambda w: [w.counter_order.number]),
    # Claims
    "claims:my_claims": Route(residents_only(), page=True),
    "claims:submit": Route(residents_only(), page=True),
    "claims:payees": Route(residents_only(), page=True),
    "claims:claim": Route(only(OWNER), args=lambda w: [w.claim.pk], page=True),
    "claims:claim_document": Route(only(OWNER), args=lambda w: [w.claim.pk, w.claim_document.pk]),
    "claims:document": Route(only(OWNER), args=lambda w: [w.submission.number, w.document.pk]),
    # Supervision and service
    "supervision:dashboard": Route(staff_only(BUREAU, INSURER, SUPERUSER), page=True),
    "supervision:export": Route(staff_only(BUREAU, INSURER, SUPERUSER), args=lambda w: ["channels", "csv"]),
    "supervision:tickets": Route(residents_only(), page=True),
    "supervision:ticket": Route(only(OWNER), args=lambda w: [w.ticket.number], page=True),
    "supervision:attachment": Route(only(OWNER), args=lambda w: [w.ticket.number, w.ticket_message.pk]),
    # The admin's search box posts its term (never in an address: portal/admin_search.py)
    "admin_search": Route({"default": OK, ANONYMOUS: LOGIN, **{r: LOGIN for r in RESIDENTS}}, method="POST",
                          data=lambda w: {"q": "张", "changelist": "/admin/enrollment/person/"}),
    # The settlement intake API: signed by the sending system, never by a session
    "claims_api:openapi": Route(everyone()),
    "claims_api:settlements": Route(everyone(UNSIGNED), method="POST"),
    "claims_api:hsa_call_service": Route(everyone(), method="POST"),  # the platform's way: infcode -1, HTTP 200
    "claims_api:settlement_reversal": Route(everyone(UNSIGNED), args=lambda w: ["S-NONE"], method="POST"),
    "claims_api:window_quote": Route(everyone(UNSIGNED), method="POST"),
    "claims_api:window_settle": Route(everyone(UNSIGNED), method="POST"),
    "claims_api:window_reversal": Route(everyone(UNSIGNED), args=lambda w: ["S-NONE"], method="POST"),
    "claims_api:window_reconciliation": Route(everyone(UNSIGNED), method="POST"),
    # The same calls in the 医疗保障信息平台 envelope: a refusal is a signed answer (HTTP 200, infcode -1)
    "claims_api:window_hsa": Route(everyone(), method="POST"),
    # Simulators of the outside systems (development and tests only; never routed in production)
    "sms_simulator:outbox": Route(everyone()),
    "sms_simulator:api": Route(everyone(), method="POST"),  # Tencent answers 200 with Response.Error
    # Tencent Cloud API 3.0 answers a request it cannot authenticate with HTTP 200 and an AuthFailure
    # error in the body (the SDK reads it from there).
    "simulators:identity:api": Route(everyone(), method="POST"),
    "hsa_simulator:call_service": Route(everyone(), method="POST"),  # answers infcode -1 in the envelope
    # WeChat Pay v3 (every API call must carry the merchant's signature) and Alipay's gateway (whose
    # refusal of an unsigned call is an error_response in a 200, as Alipay answers)
    "payments_simulator:wechatpay_h5": Route(everyone(UNSIGNED), method="POST"),
    "payments_simulator:wechatpay_query": Route(everyone(UNSIGNED), args=lambda w: [w.order.number + "P1"]),
    "payments_simulator:wechatpay_close": Route(everyone(UNSIGNED), args=lambda w: [w.order.number + "P1"],
                                                method="POST"),
    "payments_simulator:wechatpay_refunds": Route(everyone(UNSIGNED), method="POST"),
    "payments_simulator:wechatpay_refund_query": Route(everyone(UNSIGNED), args=lambda w: ["R1"]),
    "payments_simulator:wechatpay_tradebill": Route(everyone(UNSIGNED), query={"bill_date": "2025-06-15"}),
    "payments_simulator:wechatpay_billdownload": Route(everyone(UNSIGNED), query={"token": "x"}),
    "payments_simulator:wechatpay_papay_presign": Route(everyone(UNSIGNED), method="POST"),
    "payments_simulator:wechatpay_papay_contract": Route(everyone(UNSIGNED), args=lambda w: ["12535", "C1"]),
    "payments_simulator:wechatpay_papay_terminate": Route(everyone(UNSIGNED), args=lambda w: ["12535", "C1"],
                                                          method="POST"),
    "payments_simulator:wechatpay_papay_apply": Route(everyone(UNSIGNED), method="POST"),
    "payments_simulator:alipay_gateway": Route(everyone(), query={"method": "alipay.trade.query"}),
    "payments_simulator:alipay_bill": Route(everyone(DENIED), query={"token": "x"}),
    "payments_simulator:cashier": Route(everyone(), args=lambda w: [w.sim_transaction]),
    "payments_simulator:contract_sign": Route(everyone(), args=lambda w: [w.sim_contract]),
}

# The same routes on other objects, where who may open them differs (issue 12: who sees and manages
# each policy). Each is (route name, what the object is, the route with its arguments and answers).
NOBODY = {"default": DENIED, ANONYMOUS: LOGIN}
MORE: list[tuple[str, str, Route]] = [
    # A policy another resident (the guardian) bought for the owner: both read it, only the payer cancels.
    ("enrollment:policy_detail", "gift", Route(only(OWNER, GUARDIAN), args=lambda w: [w.gift_policy.number])),
    ("enrollment:policy_pdf", "gift", Route(only(OWNER, GUARDIAN), args=lambda w: [w.gift_policy.number])),
    ("enrollment:policy_cancel", "gift", Route(only(GUARDIAN), args=lambda w: [w.gift_policy.number])),
    # The operator's employer insured him: he reads it as the insured, but cancels it only on the
    # organization's list page.
    ("enrollment:policy_detail", "employer's, for the operator",
     Route(only(OPERATOR), args=lambda w: [w.operator_policy.number])),
    ("enrollment:policy_cancel", "employer's, for the operator", Route(NOBODY, args=lambda w: [w.operator_policy.number])),
    # The employer's policy for a colleague: never in the operator's personal pages.
    ("enrollment:policy_detail", "employer's, for a colleague", Route(NOBODY, args=lambda w: [w.member_policy.number])),
    ("enrollment:policy_pdf", "employer's, for a colleague", Route(NOBODY, args=lambda w: [w.member_policy.number])),
    ("enrollment:policy_cancel", "employer's, for a colleague", Route(NOBODY, args=lambda w: [w.member_policy.number])),
    ("enrollment:order_detail", "the employer's order", Route(NOBODY, args=lambda w: [w.org_order.number])),
    ("enrollment:order_status", "the employer's order", Route(NOBODY, args=lambda w: [w.org_order.number])),
]

# The admin's generated routes, checked as a family: the anonymous are sent to its sign-in, residents
# are refused, each staff role sees what its groups' permissions allow.
ADMIN = "admin"
