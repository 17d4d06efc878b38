"""保单真伪查验: anyone holding a printed e-policy checks it by the policy number and the
verification code printed on it. The answer shows only non-personal facts: whether the policy is in
force, its cover period, product and plan, and the insured's masked name. An unknown number and a
wrong code get the same answer; wrong tries are capped per address."""

from __future__ import annotations

from django.core.cache import cache
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from enrollment import epolicy
from enrollment.identity import mask_name

WRONG_TRIES_PER_HOUR = 30


def policy_verify(request):
    number = (request.GET.get("number") or "").strip()[:32]
    code = (request.GET.get("code") or "").strip()[:16]
    context = {"number": number, "code": code, "policy": None, "error": None}
    if "number" in request.GET or "code" in request.GET:
        key = f"policy-verify:{request.META.get('REMOTE_ADDR', '')}"
        if not number or not code:
            context["error"] = ("missing", "请填写保单号和验证码（均印在电子保单上）。")
        elif (cache.get(key) or 0) >= WRONG_TRIES_PER_HOUR:
            context["error"] = ("too_many", "查验次数过多，请一小时后再试。")
        else:
            policy = epolicy.policy_for_code(number, code)
            if policy is None:
                if not cache.add(key, 1, timeout=3600):
                    try:
                        cache.incr(key)
                    except ValueError:
                        cache.set(key, 1, timeout=3600)
                context["error"] = ("not_found", "未查到该保单：请核对保单号和验证码。")
            else:
                context["policy"] = policy
                context["insured"] = mask_name(policy.person.name)
                today = timezone.localdate()
                context["valid"] = (policy.status == policy.ACTIVE
                                    and policy.coverage_start <= today <= policy.coverage_end)
    return render(request, "enrollment/policies/verify.html", context)


urlpatterns = [path("verify/", policy_verify, name="policy_verify")]
