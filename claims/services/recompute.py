"""Recomputing a policy year: lock → the rule engine over the whole year → write only the difference
(claim lines, adjustments) → each claim's decision by the rules (approved, held for review, rejected)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from claims.models import (
    Claim,
    ClaimLine,
    PolicyYear,
    Settlement,
    SettlementSource,
)
from claims.rules.engine import adjudicate_year
from claims.rules.model import ACCEPTED, PolicyFacts
from claims.rules.records import parse_settlement
from enrollment import selectors
from enrollment.models import Policy, Resident
from portal import sms

logger = logging.getLogger(__name__)


# --- Recomputing a policy year ----------------------------------------------------------------


def _facts(policy: Policy) -> PolicyFacts:
    return PolicyFacts(
        id_number=policy.person.id_number,
        coverage_start=policy.coverage_start,
        coverage_end=policy.coverage_end,
        consecutive_years=policy.consecutive_years,
        medical_assistance=policy.medical_assistance,
    )


CLAIM_DECISION_FIELDS = ["payout", "outcome", "reason", "state", "flags", "rejection_code", "first_approver",
                         "second_approver", "decided_at", "updated_at"]
_CONFIGS: dict[int, object] = {}


def _config(plan):
    """The plan's benefit configuration. A published version cannot change (a database trigger
    refuses it), so its configuration is read once per process; a draft's is read every time."""
    if plan.pk in _CONFIGS:
        return _CONFIGS[plan.pk]
    full = selectors.plan_with_config(product=plan.version.slug, plan=plan.code)
    config = selectors.benefit_config(full)
    if full.version.status == full.version.PUBLISHED:
        _CONFIGS[plan.pk] = config
    return config


def _withdrawn(claim: Claim, settlement: Settlement) -> str:
    if settlement.reversed_at:
        return "原结算单已冲正，赔付冲回"
    if claim.rejected_by_id:
        return f"审核拒赔（{claim.rejection_label}），赔付冲回"
    return "本次重算不再赔付，赔付冲回"


def _review_flags(claim: Claim) -> list[str]:
    flags = []
    if claim.payout > settings.CLAIM_AUTO_APPROVE_LIMIT:
        flags.append("above_auto_limit")
    if claim.settlement.effective_pre_existing:
        flags.append("pre_existing")
    if claim.settlement.source.kind == SettlementSource.RESIDENT:
        flags.append("manual_entry")
    if claim.paid_amount and claim.paid_amount != claim.payout:
        flags.append("adjusted_after_payment")
    return flags


def _decide_by_rules(claim: Claim, outcome) -> None:
    """received/calculated/…/paid → calculated → approved automatically, held for review, or
    rejected by the rules. Money already paid that no longer should be goes to a reviewer."""
    claim.calculate()
    claim.flags = _review_flags(claim)
    if (outcome is None or outcome.status != ACCEPTED) and not claim.paid_amount:
        claim.flags, claim.rejection_code = [], claim.reason
        claim.reject_by_rules()
    elif claim.flags:
        claim.rejection_code = ""
        claim.hold_for_review()
    else:
        claim.rejection_code = ""
        claim.approve_automatically()
        _approved(claim)


def _account(policy):
    """Whom to tell about the policy's claims: the insured person's account, else the buyer's."""
    if not hasattr(policy, "_notify_account"):
        policy._notify_account = (Resident.objects.filter(person_id=policy.person_id).first()
                                  or Resident.objects.filter(orders__policies=policy).first())
    return policy._notify_account


def _approved(claim: Claim) -> None:
    """After any approval: a claim already paid in full is paid again; otherwise the insured
    person's account (or the buyer's) is told by SMS when there is money to pay."""
    claim.decided_at = timezone.now()
    if claim.paid_amount and claim.payable == 0:
        claim.mark_paid()
        return
    if claim.payable <= 0:
        return
    account = _account(claim.policy)
    if account is not None:
        phone, amount = account.phone, f"{claim.payable:.2f}"
        transaction.on_commit(lambda: sms.send(phone=phone, template="payout_approved", amount=amount))


def policy_year_recompute(*, policy_id: int, reason: str = "") -> int:
    """Recompute the whole policy year under a row lock and write only the difference.

    Returns the number of claim lines written (0 when nothing changed: running it twice, or a
    redelivered task, changes nothing)."""
    with transaction.atomic():
        PolicyYear.objects.get_or_create(policy_id=policy_id)
        year = PolicyYear.objects.select_for_update().get(policy_id=policy_id)
        policy = Policy.objects.select_related("person", "plan__version").get(pk=policy_id)
        plan = policy.plan
        settlements = list(Settlement.objects.filter(policy=policy).select_related("source")
                           .order_by("settled_at", "settlement_id"))
        claims = {c.settlement_id: c for c in Claim.objects.filter(settlement__in=settlements).select_for_update()}
        fresh = {s.pk: Claim(settlement=s, policy=policy) for s in settlements if s.pk not in claims}
        claims.update(fresh)
        # A reversed settlement, or one a reviewer rejected, no longer uses the year's deductible or limits.
        live = [s for s in settlements
                if s.reversed_at is None and not (s.pk in claims and claims[s.pk].rejected_by_id)]
        inputs = [replace(parse_settlement(s.record), pre_existing=s.effective_pre_existing) for s in live]
        result = adjudicate_year(_config(plan), _facts(policy), inputs)
        by_id = {r.settlement_id: r for r in result.results}
        recorded: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for line in ClaimLine.objects.filter(claim__in=[c for c in claims.values() if c.pk]):
            recorded[line.claim_id][line.responsibility] += line.payout

        revision = year.revision + 1
        lines, changed = [], []
        for settlement in settlements:
            outcome = by_id.get(settlement.settlement_id) if settlement in live else None
            claim = claims[settlement.pk]
            claim.settlement, claim.policy = settlement, policy
            target = {line.responsibility: line for line in outcome.lines} if outcome else {}
            before = recorded[claim.pk] if claim.pk else {}
            new_lines = []
            for code in sorted(set(target) | set(before)):
                line = target.get(code)
                difference = (line.payout if line else Decimal("0.00")) - before.get(code, Decimal("0.00"))
                if difference == 0 and (line is None or code in before):
                    continue
                new_lines.append(ClaimLine(
                    claim=claim,
                    responsibility=code,
                    kind=ClaimLine.ADJUSTMENT if before else ClaimLine.ORIGINAL,
                    covered=line.covered if line else Decimal("0.00"),
                    deductible=line.deductible if line else Decimal("0.00"),
                    payout=difference,
                    explanation=line.explanation if line else _withdrawn(claim, settlement),
                    reason=reason if before else "",
                    revision=revision,
                ))
            if not new_lines and claim.state != Claim.RECEIVED:
                continue
            lines += new_lines
            claim.payout = sum((ln.payout for ln in target.values()), Decimal("0.00"))
            claim.outcome = outcome.status if outcome else "reversed" if settlement.reversed_at else "withdrawn"
            claim.reason = (outcome.reason or "") if outcome else claim.outcome
            if claim.rejected_by_id is None:
                _decide_by_rules(claim, outcome)
            claim.updated_at = timezone.now()
            if claim.pk:
                changed.append(claim)
        # New claims are written with their decision in one statement; only earlier claims are updated.
        Claim.objects.bulk_create(fresh.values())
        ClaimLine.objects.bulk_create(lines)  # each line takes its new claim's primary key here
        Claim.objects.bulk_update(changed, CLAIM_DECISION_FIELDS)
        written = len(lines)

        year.deductible_used = {k: str(v) for k, v in result.state.deductible_used.items()}
        year.band_position = result.state.band_position
        year.cumulative = {k: str(v) for k, v in result.state.cumulative.items()}
        year.paid = {k: str(v) for k, v in result.state.paid.items()}
        year.revision = revision if written else year.revision
        year.computed_at = timezone.now()
        year.save()
    if written:
        logger.info("policy year %s recomputed: %d claim lines written", policy_id, written)
    return written
