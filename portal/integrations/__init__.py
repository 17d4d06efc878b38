"""One package per outside system: its small API, the real protocol client, its settings
(``conf.py``) and its simulator (``simulator/``, a Django app mounted under ``/sim/<system>/``)."""
