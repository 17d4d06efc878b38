"""Recomputing a policy year: lock → the rule engine over the whole year → write only the difference
(claim lines, adjustments) → each claim's decision by the rules (approved, held for review, rejected)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from claims import selectors as claim_selectors
from claims.models import (
    Claim,
    ClaimLine,
    ClaimStage,
    PolicyYear,
    Settlement,
    SettlementSource,
)
from claims.rules.engine import adjudicate_year
from claims.rules.model import ACCEPTED, PolicyFacts
from claims.rules.records import parse_settlement
from enrollment import selectors
from enrollment.models import Plan, Policy, Resident
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


def engine_input(settlement: Settlement):
    """A stored settlement as the rule engine reads it (the reviewer's pre-existing correction applied)."""
    return replace(parse_settlement(settlement.received), pre_existing=settlement.effective_pre_existing)


def _review_flags(claim: Claim) -> list[str]:
    if claim.settlement.window:
        # Settled at the hospital window: the money was handed over there, by the rules alone;
        # any later difference is an adjustment cleared with the hospital (claims.services.window).
        return []
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


def _decide_by_rules(claim: Claim, outcome, notices: list) -> None:
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
        _approved(claim, notices)


def _approved(claim: Claim, notices: list) -> None:
    """After any approval: a claim already paid in full is paid again; otherwise the insured
    person's account (or the buyer's) is told by SMS when there is money to pay (``notices``)."""
    claim.decided_at = timezone.now()
    if claim.paid_amount and claim.payable == 0:
        claim.mark_paid()
        return
    if claim.payable > 0 and not claim.settlement.window:
        notices.append((claim.policy, f"{claim.payable:.2f}"))


def _notify(notices: list) -> None:
    """Tell the resident: ``(policy, amount)`` for an approved payout, ``(policy, template, params)``
    for any other change of a claim (an approved SMS template each). Whom: the insured person's
    account, else the buyer's; three queries for the whole batch, the messages sent once the
    transaction commits. An approved payout without a verified payee asks for one
    (``payout_payee_needed``)."""
    if not notices:
        return
    from claims.models import Payee

    policies = {notice[0].pk: notice[0] for notice in notices}
    own: dict[int, Resident] = {}
    for resident in Resident.objects.filter(person_id__in={p.person_id for p in policies.values()}).order_by("pk"):
        own.setdefault(resident.person_id, resident)
    buyers: dict[int, Resident] = {}
    missing = [pk for pk, p in policies.items() if p.person_id not in own]
    if missing:
        for resident in (Resident.objects.filter(orders__policies__in=missing)
                         .annotate(policy_pk=F("orders__policies")).order_by("pk")):
            buyers.setdefault(resident.policy_pk, resident)
    with_payee = set(Payee.objects.filter(person_id__in={p.person_id for p in policies.values()},
                                          replaced_at__isnull=True).values_list("person_id", flat=True))
    for notice in notices:
        policy = notice[0]
        account = own.get(policy.person_id) or buyers.get(policy.pk)
        if account is None or not account.phone:
            continue
        if len(notice) == 3:
            template, params = notice[1], notice[2]
        elif policy.person_id in with_payee:
            template, params = "payout_approved", {"amount": notice[1]}
        else:  # the money waits for a verified payee: ask for one (我的理赔 says the same)
            template, params = "payout_payee_needed", {"name": policy.person.name, "amount": notice[1]}
        transaction.on_commit(partial(_send, account.phone, template, params))


def _send(phone: str, template: str, params: dict) -> None:
    try:
        sms.send(phone=phone, template=template, **params)
    except sms.SmsError as exc:  # told on the page all the same; never fails the change itself
        logger.warning("claim SMS %s not sent: %s", template, exc.code)


class _Line(NamedTuple):
    """A claim line to write (by COPY: no model instance needed)."""

    claim: Claim
    responsibility: str
    kind: str
    covered: Decimal
    deductible: Decimal
    payout: Decimal
    explanation: str
    reason: str
    revision: int


LINE_COLUMNS = ("claim_id", "responsibility", "kind", "covered", "deductible", "payout", "explanation", "reason",
                "revision", "created_at")


def _copy(model, columns, rows) -> None:
    """``rows`` into ``model``'s table in one COPY (history triggers record each row as for an
    INSERT; the history context was set by the year rows' INSERT earlier in this transaction)."""
    rows = list(rows)
    if not rows:
        return
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


CLAIM_COLUMNS = [field for field in Claim._meta.concrete_fields]


def _claims_copy(claims: list[Claim]) -> None:
    """New claims, with their decision, in one COPY: their keys are taken from the table's sequence
    first (one statement), so lines and stages can refer to them. The COPY follows the year rows'
    INSERT earlier in the transaction, which set the history context the triggers record."""
    if not claims:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Claim._meta.db_table, len(claims)])
        keys = [row[0] for row in cursor.fetchall()]
    now = timezone.now()
    for claim, key in zip(claims, keys, strict=True):
        claim.pk = key
        claim.created_at = claim.created_at or now
        claim._state.adding, claim._state.db = False, connection.alias
    _copy(Claim, [field.column for field in CLAIM_COLUMNS],
          ([getattr(claim, field.attname) for field in CLAIM_COLUMNS] for claim in claims))


def _lines_copy(lines: list[_Line]) -> None:
    """Every new claim line in one COPY, after the claims (their keys are known)."""
    now = timezone.now()
    _copy(ClaimLine, LINE_COLUMNS, ((line.claim.pk, line.responsibility, line.kind, line.covered, line.deductible,
                                     line.payout, line.explanation, line.reason, line.revision, now)
                                    for line in lines))


def _stages_copy(stages: list[tuple]) -> None:
    """Every claim's new progress stages in one COPY, after the claims (their keys are known)."""
    _copy(ClaimStage, ("claim_id", "stage", "at", "note"),
          ((claim.pk, stage, at, note) for claim, stage, at, note in stages))


def _years_update(years: list[PolicyYear]) -> None:
    """Every year's new state in one set-based statement: the rows travel as one JSON parameter
    (quoting one string is cheap; quoting seven arrays client-side cost more than the UPDATE)."""
    if not years:
        return
    rows = [{"id": y.pk, "deductible_used": y.deductible_used, "band_position": str(y.band_position),
             "cumulative": y.cumulative, "paid": y.paid, "revision": y.revision,
             "computed_at": y.computed_at.isoformat() if y.computed_at else None} for y in years]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE claims_policyyear y
               SET deductible_used = v.deductible_used, band_position = v.band_position,
                   cumulative = v.cumulative, paid = v.paid, revision = v.revision, computed_at = v.computed_at
              FROM jsonb_to_recordset(%s::jsonb)
                   AS v(id bigint, deductible_used jsonb, band_position numeric, cumulative jsonb, paid jsonb,
                        revision integer, computed_at timestamptz)
             WHERE y.id = v.id
            """,
            [json.dumps(rows)],
        )


def policy_year_recompute(*, policy_id: int, reason: str = "") -> int:
    """Recompute one policy year (see ``policy_years_recompute``)."""
    return policy_years_recompute(policy_ids=[policy_id], reason=reason)


def policy_years_recompute(*, policy_ids, reason: str = "") -> int:
    """Recompute whole policy years in one transaction, each under its row lock (taken in policy id
    order, so two batches never deadlock), and write only the difference. A constant number of
    queries per batch: the years, their policies, settlements, claims and lines are read in bulk,
    and new claims, lines and updates written in bulk.

    Returns the number of claim lines written (0 when nothing changed: running it twice, or a
    redelivered task, changes nothing)."""
    wanted = sorted({int(pk) for pk in policy_ids})
    if not wanted:
        return 0
    with transaction.atomic():
        policies = Policy.objects.select_related("person").in_bulk(wanted)
        plans = Plan.objects.select_related("version").in_bulk({p.plan_id for p in policies.values()})
        for policy in policies.values():  # a batch has a few plans: one instance each, not one per policy
            policy.plan = plans[policy.plan_id]
        ids = sorted(policies)
        PolicyYear.objects.bulk_create([PolicyYear(policy_id=pk) for pk in ids], ignore_conflicts=True)
        years = list(PolicyYear.objects.select_for_update().filter(policy_id__in=ids).order_by("policy_id"))
        by_policy: dict[int, list[Settlement]] = defaultdict(list)
        for settlement in Settlement.objects.filter(policy_id__in=ids).order_by("policy_id",
                                                                                 *claim_selectors.YEAR_ORDER):
            by_policy[settlement.policy_id].append(settlement)
        sources = SettlementSource.objects.in_bulk({s.source_id for group in by_policy.values() for s in group})
        for group in by_policy.values():
            for settlement in group:
                settlement.source = sources[settlement.source_id]
        claims = {c.settlement_id: c for c in Claim.objects.filter(
            settlement_id__in=[s.pk for group in by_policy.values() for s in group]).order_by("pk").select_for_update()}
        recorded: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for claim_id, code, payout in ClaimLine.objects.filter(
                claim_id__in=[c.pk for c in claims.values()]).values_list("claim_id", "responsibility", "payout"):
            recorded[claim_id][code] += payout

        fresh, lines, changed, notices, stages = [], [], [], [], []
        for year in years:
            _recompute(year, policies[year.policy_id], by_policy[year.policy_id], claims, recorded, reason,
                       fresh, lines, changed, notices, stages)
        # New claims are written with their decision by COPY; only earlier claims are updated.
        _claims_copy(fresh)
        _stages_copy(stages)
        Claim.objects.bulk_update(changed, CLAIM_DECISION_FIELDS, batch_size=500)
        _lines_copy(lines)  # after the claims: each line's new claim has its primary key now
        _years_update(years)
        _notify(notices)
    if lines:
        logger.info("%d policy years recomputed: %d claim lines written", len(years), len(lines))
    return len(lines)


STAGE_OF_STATE = {Claim.APPROVED: ClaimStage.APPROVED, Claim.PENDING_REVIEW: ClaimStage.IN_REVIEW,
                  Claim.REJECTED: ClaimStage.REJECTED, Claim.PAID: ClaimStage.PAID}


def _recompute(year, policy, settlements, claims, recorded, reason, fresh, lines, changed, notices,
               stages=None) -> None:
    """One policy year: the engine over all its live settlements, then the difference against what
    was recorded (appended to ``fresh``, ``lines``, ``changed``, ``notices``, and the progress
    ``stages`` each claim went through: (claim, stage, at, note))."""
    stages = [] if stages is None else stages
    # Keys only: the loop below puts the settlement and policy instances on every claim.
    new_claims = {s.pk: Claim(settlement_id=s.pk, policy_id=policy.pk) for s in settlements if s.pk not in claims}
    claims.update(new_claims)
    fresh += new_claims.values()
    # A reversed settlement, or one a reviewer rejected, no longer uses the year's deductible or limits.
    live = [s for s in settlements if claim_selectors.settlement_counts(s, claims[s.pk].rejected_by_id)]
    inputs = [engine_input(s) for s in live]
    result = adjudicate_year(_config(policy.plan), _facts(policy), inputs)
    by_id = {r.settlement_id: r for r in result.results}
    live_pks = {s.pk for s in live}

    revision = year.revision + 1
    written = 0
    for settlement in settlements:
        outcome = by_id.get(settlement.settlement_id) if settlement.pk in live_pks else None
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
            new_lines.append(_Line(
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
        written += len(new_lines)
        claim.payout = sum((ln.payout for ln in target.values()), Decimal("0.00"))
        claim.outcome = outcome.status if outcome else "reversed" if settlement.reversed_at else "withdrawn"
        claim.reason = (outcome.reason or "") if outcome else claim.outcome
        now = timezone.now()
        if claim.state == Claim.RECEIVED:
            stages.append((claim, ClaimStage.RECEIVED, settlement.received_at or now, ""))
        if claim.rejected_by_id is None:
            _decide_by_rules(claim, outcome, notices)
            note = reason if claim.pk else ""
            stages.append((claim, ClaimStage.CALCULATED, now, note[:300]))
            stage = STAGE_OF_STATE.get(claim.state)
            if stage is not None:
                stages.append((claim, stage, now, claim.rejection_label if stage == ClaimStage.REJECTED else ""))
            if stage == ClaimStage.IN_REVIEW:
                notices.append((policy, "claim_in_review", {
                    "name": policy.person.name, "hospital": settlement.hospital_name[:30],
                    "settlement": settlement.settlement_id}))
        claim.updated_at = timezone.now()
        if claim.pk:
            changed.append(claim)

    year.deductible_used = {k: str(v) for k, v in result.state.deductible_used.items()}
    year.band_position = result.state.band_position
    year.cumulative = {k: str(v) for k, v in result.state.cumulative.items()}
    year.paid = {k: str(v) for k, v in result.state.paid.items()}
    year.revision = revision if written else year.revision
    year.computed_at = timezone.now()


# --- Enqueueing, and the sweeper that finds lost work -------------------------------------------

RECOMPUTE_BATCH = 200  # policy years per task: one transaction, a constant number of queries


def policy_years_enqueue(policy_ids) -> None:
    """One task per ``RECOMPUTE_BATCH`` policy years (call it on commit)."""
    from claims.tasks import recompute_policy_years

    ids = sorted(set(policy_ids))
    for start in range(0, len(ids), RECOMPUTE_BATCH):
        recompute_policy_years.delay(ids[start:start + RECOMPUTE_BATCH])


def _queued_tasks() -> int:
    from amqp.exceptions import ChannelError

    from portal.celery import app

    with app.connection_for_write() as connection:
        try:
            return connection.default_channel.queue_declare(queue=app.conf.task_default_queue,
                                                            passive=True).message_count
        except ChannelError:  # no such queue: nothing was ever queued, or it is empty (Redis)
            return 0


def policy_years_sweep(*, grace_seconds: float) -> int:
    """Re-enqueue the policy years whose work was lost (``claims.selectors.policy_years_behind``):
    a message taken by a worker killed before acknowledging it waits in the broker until its
    visibility timeout, and nothing else would ever ask again. Changes younger than
    ``grace_seconds`` are left to their own messages, and while more than
    ``CLAIMS_SWEEP_MAX_BACKLOG`` tasks are queued the sweep waits (the backlog may hold them).
    Recomputing is idempotent, so a year enqueued twice costs one idle run. Returns how many."""
    backlog = _queued_tasks()
    if backlog > settings.CLAIMS_SWEEP_MAX_BACKLOG:
        logger.info("claims sweep deferred: %d tasks queued", backlog)
        return 0
    ids = claim_selectors.policy_years_behind(settled_before=timezone.now() - timedelta(seconds=grace_seconds),
                                              limit=settings.CLAIMS_SWEEP_LIMIT)
    if ids:
        logger.warning("claims sweep: %d policy years behind their settlements re-enqueued", len(ids))
        policy_years_enqueue(ids)
    return len(ids)
