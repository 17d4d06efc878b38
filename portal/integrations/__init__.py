"""One package per outside system: its small API, the real protocol client, its settings
(``conf.py``) and its simulator (``simulator/``, a Django app mounted under ``/sim/<system>/``).

:func:`production_errors` gathers every package's ``conf.production_errors()``; the system check
``portal.checks.integrations_check`` reports each as an error, so the portal refuses to start in
production while any is reported and ``manage.py check --deploy`` lists them.
"""

from __future__ import annotations

import importlib
import pkgutil

from django.core.exceptions import ImproperlyConfigured


def production_errors() -> list[tuple[str, str]]:
    """``(system, message)`` for every problem any integration reports."""
    errors = []
    for module in pkgutil.iter_modules(__path__):
        if not module.ispkg:
            continue
        try:
            conf = importlib.import_module(f"{__name__}.{module.name}.conf")
        except ModuleNotFoundError:
            continue
        try:
            messages = conf.production_errors()
        except ImproperlyConfigured as exc:  # e.g. a check that derives from an empty SECRET_KEY
            messages = [f"{module.name}: {exc}"]
        errors.extend((module.name, message) for message in messages)
    return errors
