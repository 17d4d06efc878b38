"""The supervision roles (supervision/roles.py): bureau viewer, insurer staff, customer service."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from supervision import roles

    roles.ensure(apps)


def remove_roles(apps, schema_editor):
    from supervision import roles

    apps.get_model("auth", "Group").objects.filter(name__in=roles.ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
