"""Enrollment's permissions of the staff roles (enrollment/roles.py): customer service decide
identity appeals."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from enrollment import roles

    roles.ensure(apps)


def remove_permissions(apps, schema_editor):
    from enrollment import roles

    Group = apps.get_model("auth", "Group")  # noqa: N806
    for group in Group.objects.filter(name__in=roles.ROLES):
        group.permissions.remove(*group.permissions.filter(content_type__app_label="enrollment"))


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0007_identity_verification"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(create_roles, remove_permissions)]
