"""Enrollment's part of the staff roles: customer service (客服) decide identity appeals and read
the masked record of verification attempts.

Made by migration 0008; ``ensure`` makes them again where a database was emptied (tests)."""

ROLES = {
    "客服": ["view_identityappeal", "decide_identityappeal", "view_verificationattempt"],
    # Staff at a service point: open and close their cashier shift, enroll residents at the counter.
    "柜面经办": ["add_counterenrollment", "view_counterenrollment", "add_cashiershift", "view_cashiershift",
             "view_servicepoint"],
}


def ensure(apps=None) -> None:
    from portal import roles

    roles.ensure("enrollment", ROLES, apps)
