"""Who reads the access log: the auditors (理赔审计员). Made by migration 0002; ``ensure`` makes it
again where a database was emptied (tests)."""

ROLES = {"理赔审计员": ["view_accesslog"]}


def ensure(apps=None) -> None:
    from portal import roles

    roles.ensure("staff", ROLES, apps)
