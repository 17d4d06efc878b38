"""The 柜面经办 role (enrollment/roles.py): staff at a service point enroll residents at the counter."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from enrollment import roles

    roles.ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0017_counter_enrollment"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
