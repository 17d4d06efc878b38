"""Claims review in the Django admin, one module per area; importing the package registers every ModelAdmin.

Roles (groups made by migration 0003): 理赔审核员 (reviewer: correct, approve, reject),
理赔复核人 (approver: also the second approval of large payouts and payment batches),
理赔审计员 (read-only auditor). Every page shows ID numbers masked; nobody edits money or states
directly: each action is a service with a reason, recorded in the audit trail.
"""

from claims.admin import claims, payouts, settlements, submissions, window  # noqa: F401
