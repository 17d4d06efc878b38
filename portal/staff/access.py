"""The access log of staff reads of personal data (issue 13): each record page, document, search and
export a staff account opens is written to ``AccessLog`` by ``services.access_record``.

One middleware sees every staff request, so no page can forget to log: in the admin, the change
page of a model holding personal data is a *view*, its list with a search term a *search* (the term
itself is not kept: it may be an ID number), any file it answers (a claim document, an appeal
photo, a ticket attachment, a payout file) a *download*, and an admin action answering a file an
*export* with the number of records selected. Outside the admin the staff pages that show a person
(the counter's enrollment and its e-policy) and every dashboard export are named below."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.http import StreamingHttpResponse

from portal.staff import services
from portal.staff.models import AccessLog

# Models whose admin pages show a person's data (labels in lower case).
PERSONAL = {
    "claims.claim", "claims.claimsubmission", "claims.settlement", "claims.policyyear", "claims.payoutbatch",
    "enrollment.person", "enrollment.resident", "enrollment.policy", "enrollment.order", "enrollment.payment",
    "enrollment.refund", "enrollment.paymentnotification", "enrollment.identityappeal",
    "enrollment.verificationattempt", "enrollment.beneficiarylist", "enrollment.beneficiaryrow",
    "enrollment.counterenrollment", "enrollment.consent", "enrollment.renewalauthorization",
    "enrollment.renewalrefusal", "enrollment.fundentry", "enrollment.organization", "enrollment.cashiershift",
    "supervision.ticket", "supervision.followupvisit", "simulators.rosterentry",
}
# Staff pages outside the admin: route name → (action, object type, the URL argument naming the object).
PAGES = {
    "enrollment:counter_enrollment": (AccessLog.VIEW, "enrollment.counterenrollment", "number"),
    "enrollment:counter_policy_pdf": (AccessLog.DOWNLOAD, "enrollment.counterenrollment", "number"),
    "supervision:export": (AccessLog.EXPORT, "supervision.dashboard", "name"),
}
NOT_PERSONAL_SUFFIXES = ("_template",)  # blank import templates


def _is_file(response) -> bool:
    content_type = response.get("Content-Type", "")
    return (isinstance(response, StreamingHttpResponse) or response.has_header("Content-Disposition")
            or not content_type.startswith(("text/html", "application/json")))


def _ip(request) -> str | None:
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR") or None


def _admin_model(url_name: str):
    """The registered model whose admin URL this is, and the URL's suffix (change, changelist, …)."""
    best = None
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if url_name.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
            best = (model, prefix)
    if best is None:
        return None, ""
    return best[0], url_name[len(best[1]):]


def _object_id(kwargs: dict) -> tuple[str, str]:
    """The main object's id and the other arguments (a document within a submission)."""
    if not kwargs:
        return "", ""
    key = "object_id" if "object_id" in kwargs else next(iter(kwargs))
    rest = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != key)
    return str(kwargs[key]), rest


def entry_for(request, response) -> dict | None:
    """What to log for this answered staff request, or None."""
    match = request.resolver_match
    if match is None or response.status_code != 200:
        return None
    if match.view_name in PAGES:
        action, object_type, argument = PAGES[match.view_name]
        detail = ".".join(str(v) for k, v in match.kwargs.items() if k != argument)
        return {"action": action, "object_type": object_type, "object_id": match.kwargs.get(argument, ""),
                "detail": detail}
    if match.namespace != "admin" or not match.url_name or match.url_name.endswith(NOT_PERSONAL_SUFFIXES):
        return None
    model, suffix = _admin_model(match.url_name)
    if model is None:
        return None
    label = model._meta.label_lower
    object_id, rest = _object_id(match.kwargs)
    if _is_file(response):
        if suffix == "changelist" and request.method == "POST":
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            everything = request.POST.get("select_across") == "1"
            return {"action": AccessLog.EXPORT, "object_type": label, "object_id": ",".join(selected)[:100],
                    "count": 0 if everything else len(selected),
                    "detail": f"操作 {request.POST.get('action', '')}" + ("（全部）" if everything else "")}
        return {"action": AccessLog.DOWNLOAD if object_id else AccessLog.EXPORT, "object_type": label,
                "object_id": object_id, "detail": rest}
    if label not in PERSONAL or request.method != "GET":
        return None
    if suffix == "changelist":
        if not request.GET.get("q", "").strip():
            return None
        return {"action": AccessLog.SEARCH, "object_type": label, "detail": "按关键字检索"}
    if object_id:
        return {"action": AccessLog.VIEW, "object_type": label, "object_id": object_id, "detail": rest}
    return None


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            entry = entry_for(request, response)
            if entry is not None:
                services.access_record(user=user, route=request.resolver_match.view_name, ip=_ip(request), **entry)
        return response
