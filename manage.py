#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from portal.devservers import ServerUnavailable

    try:
        execute_from_command_line(sys.argv)
    except (ServerUnavailable, ImproperlyConfigured) as exc:
        # A server that cannot start, or a missing production setting: one line, no traceback.
        print(f"{os.path.basename(sys.argv[0])}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
