"""Roles are auth groups holding an app's permissions, made by a data migration of that app."""


def ensure(app_label: str, roles: dict[str, list[str]], apps=None) -> None:
    """Make (or reset) each role's group with exactly its permissions among the app's (its other
    apps' permissions are left alone). Works with a
    migration's historical ``apps`` and again where a database was emptied (transactional tests)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    config = global_apps.get_app_config(app_label)
    had = config.models_module
    config.models_module = had or True  # create_permissions skips an app whose models are not loaded yet
    try:
        create_permissions(config, apps=apps, verbosity=0)
    finally:
        config.models_module = had
    Group = apps.get_model("auth", "Group")  # noqa: N806
    Permission = apps.get_model("auth", "Permission")  # noqa: N806
    for name, codenames in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        # Only this app's permissions are reset: a role may hold permissions of several apps.
        group.permissions.remove(*group.permissions.filter(content_type__app_label=app_label))
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
