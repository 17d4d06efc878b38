"""Writes to the claims data, one module per concern:

- ``intake``: receiving settlements (API, import, submissions) and reversals
- ``recompute``: recomputing a policy year and deciding each claim by the rules
- ``rematch``: matching settlements that arrived before their policy was active
- ``review``: staff approval, rejection and corrections
- ``payouts``: payout batches and their reconciliation
- ``submissions``: staff import and residents' out-of-region claims
- ``payees``: residents' verified payee accounts
- ``progress``: claim stages, SMS at each change, document requests and uploads
"""

from claims.services.intake import (
    ACCEPTED_STATUS,
    CONFLICT,
    DUPLICATE,
    REFUSED,
    Receipt,
    content_hash,
    settlement_receive,
    settlement_reverse,
    settlements_receive,
)
from claims.services.payouts import payout_batch_create, payout_batch_reconcile
from claims.services.progress import (
    claim_documents_request,
    claim_documents_upload,
    claim_stage_record,
    claim_tell,
)
from claims.services.recompute import (
    _facts,
    policy_year_recompute,
    policy_years_enqueue,
    policy_years_recompute,
    policy_years_sweep,
)
from claims.services.rematch import settlements_rematch
from claims.services.review import ReviewRefused, claim_approve, claim_reject, settlement_correct
from claims.services.submissions import (
    claim_submission_create,
    claim_submission_key,
    claim_submission_refuse,
    settlements_import,
)

__all__ = [
    "ACCEPTED_STATUS", "CONFLICT", "DUPLICATE", "REFUSED", "Receipt", "ReviewRefused", "_facts", "claim_approve",
    "claim_documents_request", "claim_documents_upload", "claim_stage_record", "claim_tell",
    "claim_reject", "claim_submission_create", "claim_submission_key", "claim_submission_refuse", "content_hash",
    "payout_batch_create", "payout_batch_reconcile", "policy_year_recompute", "policy_years_enqueue",
    "policy_years_recompute", "policy_years_sweep", "settlement_correct",
    "settlement_receive", "settlement_reverse", "settlements_import", "settlements_receive", "settlements_rematch",
]
