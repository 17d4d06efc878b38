"""The auditors (理赔审计员) read the access log (portal/staff/roles.py)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from portal.staff import roles

    roles.ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial"), ("claims", "0003_review_roles"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
