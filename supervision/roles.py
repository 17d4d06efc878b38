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
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    config = global_apps.get_app_config("supervision")
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
        group.permissions.set(Permission.objects.filter(content_type__app_label="supervision",
                                                        codename__in=codenames))
