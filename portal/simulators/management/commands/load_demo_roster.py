from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.simulators import roster

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_roster.csv"


class Command(BaseCommand):
    help = "Load the demo basic-insurance roster into the registry simulator (idempotent)."

    def handle(self, *args, **options):
        try:
            result = roster.import_file(DEMO.name, DEMO.read_bytes())
        except roster.RosterInvalid as exc:
            raise CommandError("；".join(exc.errors[:5])) from exc
        self.stdout.write(f"demo roster: {result.created} added, {result.updated} updated")
