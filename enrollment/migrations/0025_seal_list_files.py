from django.db import migrations


def seal(apps, schema_editor):
    from portal.storage import seal_stored_files

    seal_stored_files(apps.get_model("enrollment", "BeneficiaryList"), "file")


class Migration(migrations.Migration):
    """Beneficiary list files uploaded before issue 13 were stored as sent: encrypt them in place."""

    dependencies = [("enrollment", "0024_program_service_phone")]
    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
