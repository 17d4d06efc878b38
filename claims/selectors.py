"""Reads for the claim page, the resident's 我的理赔, payment-batch exports and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Prefetch, Q

from claims.models import REJECTION_LABELS, Claim, DocumentRequest, PayoutBatch, PolicyYear, Settlement
from portal import tabular


@dataclass
class LimitUse:
    code: str
    name: str
    limit: Decimal
    paid: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.limit - self.paid, Decimal("0.00"))


@dataclass
class DeductibleUse:
    name: str
    amount: Decimal
    used: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.amount - self.used, Decimal("0.00"))


@dataclass
class YearSummary:
    deductibles: list[DeductibleUse]
    band_position: Decimal
    band_text: str
    limits: list[LimitUse]


# The order the rule engine reads a policy year's settlements in (the recompute and the window).
YEAR_ORDER = ("settled_at", "settlement_id", "pk")


def settlement_counts(settlement: Settlement, rejected_by_id) -> bool:
    """The one rule of which settlements count in their policy year (the recompute and the window's
    quote both ask it): not reversed, and its claim not rejected by a reviewer (``rejected_by_id``
    is the claim's, None when it has no claim or was not rejected). A settlement that does not
    count uses none of the year's deductible or limits."""
    return settlement.reversed_at is None and rejected_by_id is None


def year_live_settlements(policy_id: int) -> list[Settlement]:
    """The policy year's settlements that count, in the engine's order (one query)."""
    rows = (Settlement.objects.filter(policy_id=policy_id).annotate(claim_rejected_by=F("claim__rejected_by"))
            .order_by(*YEAR_ORDER))
    return [s for s in rows if settlement_counts(s, s.claim_rejected_by)]


def year_summary(policy) -> YearSummary:
    """Deductible used, band position and each responsibility's payout against its limit, as of
    the policy year's last recomputation."""
    from claims.rules.engine import percent

    year = PolicyYear.objects.filter(policy=policy).first()
    used = {k: Decimal(v) for k, v in (year.deductible_used if year else {}).items()}
    paid = {k: Decimal(v) for k, v in (year.paid if year else {}).items()}
    position = year.band_position if year else Decimal("0.00")
    plan = policy.plan
    deductibles = [
        DeductibleUse(g.name, g.assistance_amount if policy.medical_assistance and g.assistance_amount is not None
                      else g.amount, used.get(g.code, Decimal("0.00")))
        for g in plan.deductible_groups.all()
    ]
    band_text, lower = "", Decimal("0.00")
    for band in plan.ratio_bands.all():
        if band.upper is None or position < band.upper:
            upper = "以上" if band.upper is None else f"至{band.upper:,.0f}元"
            band_text = f"累计{position:,.2f}元，处于{lower:,.0f}元{upper}分段（赔付比例{percent(band.ratio)}）"
            break
        lower = band.upper
    limits = [LimitUse(r.code, r.name, r.annual_limit, paid.get(r.code, Decimal("0.00")))
              for r in plan.responsibilities.all()]
    return YearSummary(deductibles, position, band_text, limits)


def claim_detail(claim_id: int) -> Claim:
    return (
        Claim.objects.select_related("settlement__source", "policy__person", "policy__plan__version__program",
                                     "first_approver", "second_approver", "rejected_by")
        .prefetch_related("lines")
        .get(pk=claim_id)
    )


def masked_record(record: dict) -> dict:
    """The settlement as received, with the ID number masked (reviewers never see it whole)."""
    from enrollment import idnumber

    shown = dict(record)
    if isinstance(shown.get("id_number"), str):
        shown["id_number"] = idnumber.mask(shown["id_number"])
    return shown


@dataclass
class AuditEntry:
    at: object
    who: str
    action: str
    what: str
    why: str


ACTION_LABELS = {
    "approve": "审核通过",
    "reject": "拒赔",
    "correct": "更正",
    "recompute": "重新计算",
    "payout_batch": "生成支付批次",
    "payout_reconcile": "支付对账",
    "import": "导入",
    "key_in": "录入异地就医结算",
    "request_documents": "要求补充材料",
}


def audit_trail(claim: Claim) -> list[AuditEntry]:
    """Every recorded change of the claim, its lines and its settlement: who, when, what, why."""
    from claims.models import ClaimLine

    ClaimEvent = Claim.pgh_event_model  # noqa: N806 - model classes
    LineEvent = ClaimLine.pgh_event_model  # noqa: N806
    SettlementEvent = claim.settlement.pgh_event_model  # noqa: N806
    entries = []

    def who(context) -> str:
        if context is None:
            return "系统"
        return context.metadata.get("username") or ("系统" if not context.metadata.get("user") else
                                                     f"用户#{context.metadata['user']}")

    def meta(context, key) -> str:
        return (context.metadata.get(key) or "") if context else ""

    states = dict(Claim.STATE_CHOICES)
    for event in ClaimEvent.objects.filter(pgh_obj=claim).select_related("pgh_context").order_by("pgh_id"):
        what = f"状态：{states.get(event.state, event.state)}；赔付：{event.payout}元；已支付：{event.paid_amount}元"
        if event.rejection_code:
            what += f"；原因：{REJECTION_LABELS.get(event.rejection_code, event.rejection_code)}"
        entries.append(AuditEntry(event.pgh_created_at, who(event.pgh_context),
                                  ACTION_LABELS.get(meta(event.pgh_context, "action"), event.pgh_label),
                                  what, meta(event.pgh_context, "reason")))
    for event in LineEvent.objects.filter(claim_id=claim.pk).select_related("pgh_context").order_by("pgh_id"):
        entries.append(AuditEntry(event.pgh_created_at, who(event.pgh_context),
                                  ACTION_LABELS.get(meta(event.pgh_context, "action"), "计算"),
                                  f"{event.get_kind_display()}：{event.responsibility} {event.payout:+.2f}元",
                                  event.reason or meta(event.pgh_context, "reason")))
    for event in SettlementEvent.objects.filter(pgh_obj_id=claim.settlement_id, pgh_label="update").select_related(
            "pgh_context").order_by("pgh_id"):
        what = "冲正" if event.reversed_at else f"既往症更正为：{'是' if event.pre_existing_corrected else '否'}"
        entries.append(AuditEntry(event.pgh_created_at, who(event.pgh_context),
                                  ACTION_LABELS.get(meta(event.pgh_context, "action"), "结算单变更"),
                                  what, event.correction_reason or meta(event.pgh_context, "reason")))
    return sorted(entries, key=lambda e: e.at)


def resident_claims(resident):
    """Claims the resident may see: his own (as the insured person), and those of minors he bought
    for as their guardian (``enrollment.selectors.guarded_policies``). An adult's claims are his alone."""
    from enrollment.selectors import guarded_policies

    own = Q(policy__person_id=resident.person_id) if resident.person_id else Q(pk__in=[])
    claims = list(
        Claim.objects.filter(own | Q(policy__in=guarded_policies(resident).values("pk")))
        .select_related("settlement", "policy__person", "policy__plan__version")
        .prefetch_related("lines", "stages", Prefetch("document_requests", DocumentRequest.objects.filter(
            answered_at__isnull=True), to_attr="open_requests"))
        .order_by("-settlement__settled_at")
    )
    for claim in claims:
        claim.open_request = claim.open_requests[0] if claim.open_requests else None
    return claims


PAYOUT_COLUMNS = ["批次号", "结算单号", "保单号", "被保险人", "身份证号", "医院", "结算日期", "支付金额", "类型",
                  "收款人", "账户类型", "收款账号"]


def payout_rows(batch: PayoutBatch, *, full_accounts: bool = False) -> list[list]:
    """The batch's items with each payment's verified payee; the card number masked, except in the
    file exported for the insurer to pay from (``full_accounts``: each export is logged)."""
    rows = []
    for item in batch.items.select_related("claim__settlement", "claim__policy__person", "payee").order_by("pk"):
        settlement, payee = item.claim.settlement, item.payee
        rows.append([
            batch.number, settlement.settlement_id, item.claim.policy.number,
            item.claim.policy.person.name, settlement.id_masked, settlement.hospital_name,
            f"{settlement.settled_at:%Y-%m-%d}", item.amount, "赔付" if item.amount > 0 else "追回",
            payee.holder_name if payee else "", payee.get_kind_display() if payee else "",
            (payee.card_number if full_accounts else payee.card_masked) if payee else "",
        ])
    return rows


def payout_csv(batch: PayoutBatch) -> bytes:
    return tabular.to_csv(PAYOUT_COLUMNS, payout_rows(batch, full_accounts=True))


def payout_xlsx(batch: PayoutBatch) -> bytes:
    return tabular.to_xlsx(PAYOUT_COLUMNS, payout_rows(batch, full_accounts=True), title="赔款支付")


def policy_years_behind(*, settled_before, limit: int) -> list[int]:
    """Policies with a matched settlement that has no claim yet, or whose policy year was last
    recomputed before a settlement of it arrived or was reversed: work whose message was lost (a
    worker killed before acknowledging it). Changes after ``settled_before`` are left to the
    messages still on their way. Policy ids in order, at most ``limit``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT s.policy_id
            FROM claims_settlement s
            LEFT JOIN claims_claim c ON c.settlement_id = s.id
            LEFT JOIN claims_policyyear y ON y.policy_id = s.policy_id
            WHERE s.policy_id IS NOT NULL
              AND GREATEST(s.received_at, s.reversed_at) < %s
              AND (c.id IS NULL OR y.computed_at IS NULL
                   OR y.computed_at < GREATEST(s.received_at, s.reversed_at))
            ORDER BY s.policy_id
            LIMIT %s
            """,
            [settled_before, limit],
        )
        return [row[0] for row in cursor.fetchall()]


# --- Clearing with hospitals (claims.services.clearing) ------------------------------------------

# The export's columns carry the platform's field names (医疗保障信息平台 清算明细), then ours.
CLEARING_COLUMNS = ["clr_date", "fixmedins_code", "fixmedins_name", "setl_id", "psn_name", "certno", "clr_type",
                    "clr_type_name", "amount", "policy_no", "clr_batch_no"]
CLEARING_TYPES = {"payout": "1", "reversal": "2", "adjustment": "3"}


def clearing_rows(statements) -> list[list]:
    """One row per statement item, in the order of the statements given (masked ID numbers)."""
    from claims.models import ClearingItem

    rows = []
    items = (ClearingItem.objects.filter(statement__in=statements)
             .select_related("statement__batch", "claim__settlement", "claim__policy__person")
             .order_by("statement__day", "statement__hospital_code", "pk"))
    for item in items:
        statement, settlement = item.statement, item.claim.settlement
        rows.append([
            f"{statement.day:%Y-%m-%d}", statement.hospital_code, statement.hospital_name, item.settlement_id,
            item.claim.policy.person.name, settlement.id_masked, CLEARING_TYPES[item.kind], item.get_kind_display(),
            item.amount, item.claim.policy.number, statement.batch.number if statement.batch else "",
        ])
    return rows


def clearing_csv(statements) -> bytes:
    return tabular.to_csv(CLEARING_COLUMNS, clearing_rows(statements))


def clearing_xlsx(statements) -> bytes:
    return tabular.to_xlsx(CLEARING_COLUMNS, clearing_rows(statements), title="医院清算明细")


def window_settlements_of(claims) -> dict[int, object]:
    """The window settlement of each claim settled at a hospital window, by claim id (我的理赔)."""
    from claims.models import WindowSettlement

    ids = {c.settlement_id: c.pk for c in claims if c.settlement.window}
    return {ids[w.settlement_id]: w for w in WindowSettlement.objects.filter(settlement_id__in=ids)}
