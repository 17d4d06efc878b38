from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from enrollment import services


class Command(BaseCommand):
    help = "Load the shipped programs and product versions (idempotent: existing versions are kept)."

    def handle(self, *args, **options):
        try:
            created = services.products_load()
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        if created:
            self.stdout.write(f"loaded product versions: {', '.join(created)}")
        else:
            self.stdout.write("product versions already loaded")
