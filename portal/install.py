"""The servers-and-database half of ``make install`` (``python portal/install.py``): reach or start
PostgreSQL and Redis (``devservers.check``), then migrate and load the shipped products, unless
nothing changed since the last time they ran against this database.

The stamp (``var/install-<database>.json``) records a digest of every migration file and of the
shipped product file, and how many migrations the database had recorded afterwards. A second
``make install`` on an installed tree reads the files, asks the database one ``SELECT count(*)``
and stops: no Django start-up, no ``migrate``, no ``load_products``. A new or changed migration, a
changed product file, another database, or a database reset behind the stamp's back (its migration
count differs) runs both again. ``python portal/install.py --force`` runs them regardless.

Run as a script it does not import the ``portal`` package (whose ``__init__`` starts the Celery
app: seconds on a busy machine); Django is set up only when there is work to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

if __package__:  # imported as portal.install (tests)
    from portal import devservers
else:  # python portal/install.py: this folder, first on sys.path, would shadow stdlib modules (logging)
    import importlib.util

    sys.path.pop(0)
    _spec = importlib.util.spec_from_file_location("devservers", Path(__file__).with_name("devservers.py"))
    devservers = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(devservers)

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTS = BASE_DIR / "enrollment" / "data" / "products.json"
SKIP = {".venv", "var", "node_modules", ".git"}


def _migration_files() -> list[Path]:
    files = []
    for root, dirs, names in os.walk(BASE_DIR):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".")]
        if Path(root).name == "migrations":
            files += [Path(root) / n for n in names if n.endswith(".py")]
    return sorted(files)


def digest() -> str:
    h = hashlib.sha256()
    for path in [*_migration_files(), PRODUCTS]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or devservers.database_url()


def _recorded_migrations(url: str) -> int | None:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        try:
            return conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return None


def _stamp_path(url: str) -> Path:
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    return devservers.VAR_DIR / f"install-{name}.json"


def up_to_date(url: str, current: str) -> bool:
    path = _stamp_path(url)
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("digest") == current and stamp.get("migrations") == _recorded_migrations(url)


def run(force: bool = False) -> bool:
    """Migrate and load the products if needed; returns whether they ran."""
    devservers.check()
    url = _database_url()
    current = digest()
    if not force and up_to_date(url, current):
        return False
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_products")
    path = _stamp_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"digest": current, "migrations": _recorded_migrations(url)}))
    return True


def main(argv: list[str]) -> int:
    try:
        ran = run(force="--force" in argv[1:])
    except devservers.ServerUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if not ran:
        print("database up to date (migrations and shipped products unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
