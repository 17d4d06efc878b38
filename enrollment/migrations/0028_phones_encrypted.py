"""Mobiles out of plaintext (issue 13): a resident's, a sign-in code's, a list row's and a counter
enrollment's mobile are kept encrypted with the key ring, with a blind index where the portal looks a
mobile up (a resident's, unique; a sign-in code's, which keeps only the index and the masked form)."""

from django.db import migrations, models


def _masked(phone):
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "***"


def seal(apps, schema_editor):
    from portal import crypto

    for name in ("Resident", "BeneficiaryRow", "CounterEnrollment"):
        model = apps.get_model("enrollment", name)
        for pk, phone in model.objects.exclude(phone__isnull=True).exclude(phone="").values_list("pk", "phone"):
            fields = {"phone_cipher": crypto.encrypt(phone)}
            if name == "Resident":
                fields["phone_hash"] = crypto.blind_index(phone)
            model.objects.filter(pk=pk).update(**fields)
    code_model = apps.get_model("enrollment", "SmsCode")
    for pk, phone in code_model.objects.values_list("pk", "phone"):
        code_model.objects.filter(pk=pk).update(phone_hash=crypto.blind_index(phone), phone_masked=_masked(phone))


def unseal(apps, schema_editor):
    from portal import crypto

    for name in ("Resident", "BeneficiaryRow", "CounterEnrollment"):
        model = apps.get_model("enrollment", name)
        for pk, token in model.objects.exclude(phone_cipher__isnull=True).exclude(phone_cipher="").values_list(
                "pk", "phone_cipher"):
            model.objects.filter(pk=pk).update(phone=crypto.decrypt(token))
    apps.get_model("enrollment", "SmsCode").objects.all().delete()  # short-lived; the mobile is not kept


def drop_codes(apps, schema_editor):
    """Going back: the codes' mobiles are not kept, so the codes go (before the column returns)."""
    apps.get_model("enrollment", "SmsCode").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0027_chinese_labels")]

    operations = [
        migrations.AddField(
            model_name="resident", name="phone_cipher",
            field=models.TextField(blank=True, editable=False, help_text="注销的账户不再保留手机号。", null=True,
                                   verbose_name="手机号（密文）"),
        ),
        migrations.AddField(
            model_name="resident", name="phone_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True,
                                   verbose_name="手机号检索码"),
        ),
        migrations.AddField(
            model_name="smscode", name="phone_hash",
            field=models.CharField(default="", max_length=64, verbose_name="手机号检索码"), preserve_default=False,
        ),
        migrations.AddField(
            model_name="smscode", name="phone_masked",
            field=models.CharField(default="", max_length=11, verbose_name="手机号"), preserve_default=False,
        ),
        migrations.AddField(
            model_name="beneficiaryrow", name="phone_cipher",
            field=models.TextField(blank=True, verbose_name="手机号（密文）"),
        ),
        migrations.AddField(
            model_name="counterenrollment", name="phone_cipher",
            field=models.TextField(blank=True, editable=False, verbose_name="联系电话（密文）"),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveIndex(model_name="smscode", name="enrollment__phone_5755dc_idx"),
        migrations.AddIndex(
            model_name="smscode",
            index=models.Index(fields=["phone_hash", "-created_at"], name="smscode_phone_hash_created"),
        ),
        migrations.RemoveField(model_name="resident", name="phone"),
        migrations.RemoveField(model_name="smscode", name="phone"),
        migrations.RemoveField(model_name="beneficiaryrow", name="phone"),
        migrations.RemoveField(model_name="counterenrollment", name="phone"),
        migrations.RunPython(migrations.RunPython.noop, drop_codes),
    ]
