from django.db import migrations


def seal(apps, schema_editor):
    from portal.storage import seal_stored_files

    seal_stored_files(apps.get_model("claims", "ClaimDocument"), "file")


class Migration(migrations.Migration):
    """Documents residents uploaded on a claim's page (answering staff's request) were stored as sent
    before issue 13's last step: encrypt them in place (0007 did the submissions' documents)."""

    dependencies = [("claims", "0011_claim_stage_cleared_label")]
    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
