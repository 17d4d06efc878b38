"""The Celery application: Redis broker, tasks discovered in each app's ``tasks.py``."""

import os
import sys

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_unless_production_ready(**kwargs):
    """Production fails closed: a worker or beat does not start while any production check fails
    (portal/checks.py). ``SystemExit`` passes through Celery's signal dispatch, which logs and
    swallows ordinary exceptions."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    django.setup()
    from portal.checks import refuse_to_start

    try:
        refuse_to_start()
    except ImproperlyConfigured as exc:
        print(f"celery: {exc}", file=sys.__stderr__, flush=True)  # stderr itself may be redirected to the log
        raise SystemExit(1) from None
