from django.db import migrations


def seal(apps, schema_editor):
    from portal.storage import seal_stored_files

    seal_stored_files(apps.get_model("supervision", "TicketMessage"), "attachment")


class Migration(migrations.Migration):
    """Ticket attachments uploaded before issue 13 were stored as sent: encrypt them in place."""

    dependencies = [("supervision", "0004_surplus_pool")]
    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
