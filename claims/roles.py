"""The claims roles: reviewer, approver (second approval, payment batches), read-only auditor.

Made by migration 0003; ``ensure`` makes them again where a database was emptied (tests)."""

VIEW = ["view_claim", "view_claimline", "view_settlement", "view_settlementsource", "view_policyyear",
        "view_payoutbatch", "view_payoutitem", "view_claimsubmission", "view_submissiondocument",
        "view_windowsettlement", "view_clearingstatement", "view_clearingitem", "view_clearingbatch",
        "view_reconciliation"]
ROLES = {
    "理赔审核员": VIEW + ["review_claim"],
    "理赔复核人": VIEW + ["review_claim", "second_approve_claim", "manage_payout_batch"],
    "理赔审计员": VIEW,
}


def ensure(apps=None) -> None:
    from portal import roles

    roles.ensure("claims", ROLES, apps)
