"""The supervision roles: the bureau's viewers (aggregates only), insurer staff (their programs'
aggregates), customer service (tickets and follow-up visits).

Made by migration 0002; ``ensure`` makes them again where a database was emptied (tests)."""

ROLES = {
    "医保局监管": ["view_dashboard"],
    "保险公司": ["view_dashboard"],
    "客服": ["handle_service", "view_ticket", "change_ticket", "view_ticketmessage", "add_ticketmessage",
           "view_followupvisit", "change_followupvisit", "add_followupvisit"],
}


def ensure(apps=None) -> None:
    from portal import roles

    roles.ensure("supervision", ROLES, apps)
