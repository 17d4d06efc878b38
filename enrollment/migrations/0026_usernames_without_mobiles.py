import re

from django.db import migrations


def hide_mobiles(apps, schema_editor):
    """Residents' login names were ``p:<mobile>``: the mobile's blind index instead."""
    from portal import crypto

    user_model = apps.get_model("auth", "User")
    for user in user_model.objects.filter(username__regex=r"^p:1[0-9]{10}$").only("pk", "username"):
        phone = user.username[2:]
        if re.fullmatch(r"1\d{10}", phone):
            user_model.objects.filter(pk=user.pk).update(username=f"p:{crypto.blind_index(phone)}")


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0025_seal_list_files"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(hide_mobiles, migrations.RunPython.noop)]
