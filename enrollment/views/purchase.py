"""The resident's purchase in three screens: plan → people and consent → pay (views/payment.py).

Each person row is checked live as it is typed (htmx posts the row to ``check_person``, which
renders the row's ``status`` partial from the same template).
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import quote

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from enrollment import midyear, selectors, services
from enrollment.models import ConsentText, Order, Plan, Policy, Relation, RenewalAuthorization, Resident
from enrollment.selectors import PersonInput
from enrollment.views.csp import payment_forms
from portal.shortcuts import get_object_or_404

MAX_PEOPLE = 12
RELATION_CHOICES = [(value, label) for value, label in Relation.choices]


def resident_required(view):
    """Signed in with a bound real name; otherwise to sign-in, then to binding."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        resident = _resident_of(request.user)
        if resident is None:
            raise Http404
        if resident.person_id is None:
            return redirect(f"/account/bind/?next={quote(request.get_full_path())}")
        request.resident = resident
        return view(request, *args, **kwargs)

    return wrapper


def _resident_of(user):
    """The account's resident with the person he is bound to, in one query (and kept on the user
    as ``user.resident`` would be)."""
    rel = Resident._meta.get_field("user").remote_field
    if rel.is_cached(user):
        return rel.get_cached_value(user)
    resident = Resident.objects.select_related("person").filter(user_id=user.pk).first()
    rel.set_cached_value(user, resident)
    if resident is not None:
        rel.remote_field.set_cached_value(resident, getattr(user, "_wrapped", user))
    return resident


def _plan(slug: str, code: str, *, config: bool = False) -> Plan:
    """The plan with its version, program and price bands (what buying reads), or with its whole
    benefit configuration (``config``: what the estimator reads)."""
    try:
        if config:
            return selectors.plan_with_config(product=slug, plan=code)
        return selectors.plan_for_sale(product=slug, plan=code)
    except Plan.DoesNotExist:
        raise Http404 from None


def _window(version) -> dict:
    """Whether the version can be bought today: in its sales window, or (after it) by the
    program's mid-year joiners only, with that rule to show."""
    today = timezone.localdate()
    return {"open": midyear.may_sell(version, today), "midyear_rule": midyear.notice(version, today)}


def buy_plan(request, slug):
    """Screen 1: choose a plan."""
    version = get_object_or_404(selectors.published_versions(), slug=slug)
    return render(
        request,
        "enrollment/purchase/plan.html",
        {"version": version, "plans": selectors.plan_summaries(version), **_window(version)},
    )


def _people_from(post, resident) -> list[tuple[int, PersonInput]]:
    """The person rows posted. The resident's own row carries no ID number: the page shows it
    masked and the server fills it in (his name and ID as bound)."""
    rows = []
    for index in range(MAX_PEOPLE):
        prefix = f"people-{index}-"
        if post.get(f"{prefix}own") == "1":
            me = resident.person
            rows.append((index, PersonInput(name=me.name, id_number=me.id_number, relation=Relation.SELF, own=True)))
            continue
        if f"{prefix}id_number" not in post:
            continue
        rows.append(
            (
                index,
                PersonInput(
                    name=post.get(f"{prefix}name", ""),
                    id_number=post.get(f"{prefix}id_number", ""),
                    relation=post.get(f"{prefix}relation", ""),
                    guardian=post.get(f"{prefix}guardian") == "1",
                ),
            )
        )
    return rows


@resident_required
def buy_people(request, slug, plan):
    """Screen 2: the people to insure, each checked live, and consent; POST creates the order."""
    plan_obj = _plan(slug, plan)
    version = plan_obj.version
    resident = request.resident
    errors: dict = {}
    if request.method == "POST":
        rows = _people_from(request.POST, resident)
        try:
            order = services.order_create(
                resident=resident,
                plan=plan_obj,
                people=[person for _, person in rows],
                accepted=set(request.POST.getlist("consent")),
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except services.PurchaseRefused as refused:
            # Errors are keyed by position in the submitted list; map them back to row indices.
            positions = {f"people-{pos}-": f"people-{index}-" for pos, (index, _) in enumerate(rows)}
            for key, problems in refused.errors.items():
                for old, new in positions.items():
                    if key.startswith(old):
                        key = new + key[len(old):]
                        break
                errors[key] = problems
        else:
            return redirect("enrollment:order_detail", number=order.number)
    else:
        me = resident.person
        rows = [(0, PersonInput(name=me.name, id_number=me.id_number, relation=Relation.SELF, own=True))]
    people = [
        {
            "index": index,
            "person": person,
            "errors": {k.rsplit("-", 1)[1]: v for k, v in errors.items() if k.startswith(f"people-{index}-")},
        }
        for index, person in rows
    ]
    general = {k: v for k, v in errors.items() if not k.startswith("people-")}
    return render(
        request,
        "enrollment/purchase/people.html",
        {
            "plan": plan_obj,
            "version": version,
            "people": people,
            "general_errors": general,
            "texts": dict(zip((ConsentText.TERMS, ConsentText.PRIVACY), selectors.consent_texts(), strict=True)),
            "accepted": set(request.POST.getlist("consent")) if request.method == "POST" else set(),
            "relations": RELATION_CHOICES,
            "next_index": max((i for i, _ in rows), default=-1) + 1,
            "max_people": MAX_PEOPLE,
            **_window(version),
            "own_masked": resident.person.id_masked,
        },
        status=422 if errors else 200,
    )


@resident_required
@require_POST
def check_person(request, slug, plan, index):
    """htmx: the live check of one row (ID valid, base insurance, not yet covered, price)."""
    plan_obj = _plan(slug, plan)
    rows = dict(_people_from(request.POST, request.resident))
    person = rows.get(index)
    if person is None:
        return HttpResponse(status=400)
    if not person.id_number.strip():
        check = None  # nothing typed yet: say nothing
    else:
        check = selectors.person_check(
            resident=request.resident, plan=plan_obj, person=person, today=timezone.localdate()
        )
    return render(
        request,
        "enrollment/purchase/people.html#person-status",
        {"check": check, "index": index, "version": plan_obj.version},
    )


@resident_required
def person_row(request, slug, plan):
    """htmx: one more empty person row."""
    plan_obj = _plan(slug, plan)
    try:
        index = int(request.GET.get("index", "0"))
    except ValueError:
        index = 0
    if not 0 <= index < MAX_PEOPLE:
        return HttpResponse("最多可为12人同时投保。", status=422)
    context = {
        "row": {"index": index, "person": PersonInput("", "", Relation.SPOUSE), "errors": {}},
        "plan": plan_obj,
        "version": plan_obj.version,
        "relations": RELATION_CHOICES,
        "next_index": index + 1,
        "max_people": MAX_PEOPLE,
        "oob": True,
    }
    # The new row, plus the "add" button swapped out-of-band with the next index.
    row = render(request, "enrollment/purchase/people.html#person-row", context).content
    button = render(request, "enrollment/purchase/people.html#add-button", context).content
    return HttpResponse(row + button)


@payment_forms
@resident_required
def order_detail(request, number):
    """Screen 3: what is being bought and for how much; pay (views/payment.py)."""
    order = get_object_or_404(
        Order.objects.select_related("version__program").prefetch_related("policies__person", "policies__plan"),
        number=number,
        resident=request.resident,
        organization__isnull=True,
        campaign__isnull=True,
    )
    return render(request, "enrollment/purchase/order.html", {"order": order, "now": timezone.now()})


@resident_required
def my_policies(request):
    """我的保单: every policy the resident bought, and those others bought for the resident."""
    from enrollment import renewal

    return render(request, "enrollment/policies/list.html", {"policies": selectors.resident_policies(request.resident),
                                                            "personal_channels": selectors.PERSONAL_CHANNELS,
                                                            "renewal_refusals": renewal.refusals_for(request.resident)})


def _own_policy(request, number) -> Policy:
    policy = selectors.resident_policies(request.resident).filter(number=number).first()
    if policy is None:
        raise Http404
    return policy


@resident_required
def policy_detail(request, number):
    """The e-policy certificate (ID masked)."""
    policy = _own_policy(request, number)
    may_cancel = Policy.objects.filter(selectors.paid_by(request.resident), pk=policy.pk).exists()
    return render(request, "enrollment/policies/detail.html", {"policy": policy, "may_cancel": may_cancel})


@resident_required
def policy_pdf(request, number):
    from enrollment.epolicy import render_pdf

    policy = _own_policy(request, number)
    if policy.status != Policy.ACTIVE:
        raise Http404
    response = HttpResponse(render_pdf(policy), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{policy.number}.pdf"'
    return response


def estimate(request, slug, plan):
    """The payout estimator: expected costs in, what the plan would pay out, computed by
    ``claims.rules`` exactly as a claim would be (same engine, same configuration)."""
    plan_obj = _plan(slug, plan, config=True)
    result, errors = None, {}
    data = request.POST if request.method == "POST" else None
    if data is not None:
        try:
            result = selectors.payout_estimate(
                plan=plan_obj,
                amounts={field: data.get(field, "") for field in selectors.ESTIMATE_FIELDS},
                pre_existing=data.get("pre_existing") == "1",
                consecutive_years=data.get("consecutive_years", "0"),
                medical_assistance=data.get("medical_assistance") == "1",
            )
        except selectors.EstimateInvalid as exc:
            errors = exc.errors
    context = {
        "plan": plan_obj,
        "version": plan_obj.version,
        "result": result,
        "errors": errors,
        "data": data or {},
        "inputs": [(f, label, (data or {}).get(f, "")) for f, label in selectors.ESTIMATE_FIELDS.items()],
    }
    template = "enrollment/purchase/estimate.html"
    if request.htmx:
        template += "#estimate-result"
    return render(request, template, context, status=422 if errors else 200)


@payment_forms
@resident_required
def renewal(request):
    """Weihai: opt in to auto-renewal per policy (consent recorded with its version), revoke any time."""
    resident = request.resident
    message = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                authorization = get_object_or_404(
                    RenewalAuthorization, pk=request.POST.get("authorization"), resident=resident
                )
                services.renewal_revoke(resident=resident, authorization=authorization)
                message = ("ok", "已撤销自动续保，今后不会再代扣。")
            else:
                if request.POST.get("consent") != "auto_renewal":
                    raise services.PurchaseRefused(
                        {"consent": [("consent_required", "请阅读并同意《自动续保代扣授权》。")]}
                    )
                policy = get_object_or_404(Policy.objects.filter(selectors.paid_by(resident)),
                                           number=request.POST.get("policy"))
                _, sign_url = services.renewal_authorize(
                    resident=resident, policy=policy, channel=request.POST.get("channel", "wechatpay"),
                    return_url=request.build_absolute_uri(reverse("enrollment:renewal")),
                    client_ip=request.META.get("REMOTE_ADDR", ""), ip_address=request.META.get("REMOTE_ADDR"),
                )
                return redirect(sign_url)  # the payer signs the withholding contract on the provider's page
        except services.PurchaseRefused as refused:
            message = ("error", refused.message)
    authorizations = list(RenewalAuthorization.objects.filter(resident=resident, revoked_at__isnull=True)
                          .select_related("person", "program"))
    authorizations = [services.renewal_refresh(authorization=a) for a in authorizations]  # back from signing
    context = {
        "candidates": selectors.renewal_candidates(resident),
        "authorizations": [a for a in authorizations if a.revoked_at is None],
        "text": ConsentText.objects.filter(kind=ConsentText.AUTO_RENEWAL).latest(),
        "message": message,
    }
    status = 422 if message and message[0] == "error" else 200
    return render(request, "enrollment/policies/renewal.html", context, status=status)


urlpatterns = [
    path("renewal/", renewal, name="renewal"),
    path("estimate/<slug:slug>/<slug:plan>/", estimate, name="estimate"),
    path("buy/<slug:slug>/", buy_plan, name="buy_plan"),
    path("buy/<slug:slug>/<slug:plan>/", buy_people, name="buy_people"),
    path("buy/<slug:slug>/<slug:plan>/check/<int:index>/", check_person, name="check_person"),
    path("buy/<slug:slug>/<slug:plan>/row/", person_row, name="person_row"),
    path("orders/<str:number>/", order_detail, name="order_detail"),
    path("policies/", my_policies, name="my_policies"),
    path("policies/<str:number>/", policy_detail, name="policy_detail"),
    path("policies/<str:number>/pdf/", policy_pdf, name="policy_pdf"),
]
