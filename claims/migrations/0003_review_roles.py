"""The claims roles (claims/roles.py): reviewer, approver, read-only auditor."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from claims import roles

    roles.ensure(apps)


def remove_roles(apps, schema_editor):
    from claims import roles

    apps.get_model("auth", "Group").objects.filter(name__in=roles.ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("claims", "0002_review_payouts_submissions"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
