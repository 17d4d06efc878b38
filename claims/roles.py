"""The claims roles: reviewer, approver (second approval, payment batches), read-only auditor.

Made by migration 0003; ``ensure`` makes them again where a database was emptied (tests)."""

VIEW = ["view_claim", "view_claimline", "view_settlement", "view_settlementsource", "view_policyyear",
        "view_payoutbatch", "view_payoutitem", "view_claimsubmission", "view_submissiondocument"]
ROLES = {
    "理赔审核员": VIEW + ["review_claim"],
    "理赔复核人": VIEW + ["review_claim", "second_approve_claim", "manage_payout_batch"],
    "理赔审计员": VIEW,
}


def ensure(apps=None) -> None:
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    config = global_apps.get_app_config("claims")
    had = config.models_module
    config.models_module = had or True  # create_permissions skips an app whose models are not loaded yet
    try:
        create_permissions(config, apps=apps, verbosity=0)
    finally:
        config.models_module = had
    Group = apps.get_model("auth", "Group")  # noqa: N806
    Permission = apps.get_model("auth", "Permission")  # noqa: N806
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="claims", codename__in=codenames))
