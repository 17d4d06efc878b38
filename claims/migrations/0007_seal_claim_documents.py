from django.db import migrations


def seal(apps, schema_editor):
    from portal.storage import seal_stored_files

    seal_stored_files(apps.get_model("claims", "SubmissionDocument"), "file")


class Migration(migrations.Migration):
    """Claim documents uploaded before issue 13 were stored as sent: encrypt them in place."""

    dependencies = [("claims", "0006_settlement_id_encrypted")]
    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
