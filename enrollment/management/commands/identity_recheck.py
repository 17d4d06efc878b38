"""Check, once, the names of accounts bound before binding was verified (see README: identity)."""

from django.core.management.base import BaseCommand

from enrollment import identity


class Command(BaseCommand):
    help = ("Two-factor check of every account bound before verification: a match marks the name verified, "
            "a mismatch unbinds the account and tells it by SMS; no answer is left for the next run.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="check at most this many accounts")

    def handle(self, *args, limit=None, **options):
        counts = identity.recheck_bound_names(limit=limit)
        self.stdout.write(f"verified {counts['verified']}, unbound {counts['unbound']}, "
                          f"left for later {counts['unavailable']}")
