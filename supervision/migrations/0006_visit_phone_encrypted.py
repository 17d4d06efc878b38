"""A follow-up visit's number out of plaintext (issue 13): kept encrypted with the key ring."""

from django.db import migrations, models


def seal(apps, schema_editor):
    from portal import crypto

    model = apps.get_model("supervision", "FollowUpVisit")
    for pk, phone in model.objects.exclude(phone="").values_list("pk", "phone"):
        model.objects.filter(pk=pk).update(phone_cipher=crypto.encrypt(phone))


def unseal(apps, schema_editor):
    from portal import crypto

    model = apps.get_model("supervision", "FollowUpVisit")
    for pk, token in model.objects.exclude(phone_cipher="").values_list("pk", "phone_cipher"):
        model.objects.filter(pk=pk).update(phone=crypto.decrypt(token))


class Migration(migrations.Migration):
    dependencies = [("supervision", "0005_seal_ticket_attachments")]

    operations = [
        migrations.AddField(
            model_name="followupvisit", name="phone_cipher",
            field=models.TextField(blank=True, editable=False, verbose_name="联系电话（密文）"),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveField(model_name="followupvisit", name="phone"),
    ]
