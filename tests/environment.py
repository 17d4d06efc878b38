"""Loaded by pytest before Django's settings (``-p tests.environment`` in pyproject.toml).

The suite uses its own Redis database, so tests never enqueue into, or clear, the queue of a
development worker started by ``make run`` on the same embedded server.
"""

import os

os.environ.setdefault("PORTAL_REDIS_DB", "15")
# A generous timeout for the platform's simulator on a loaded shared machine (it serves from a thread
# of the test process); tests of the timeout itself set their own.
os.environ.setdefault("HSA_TIMEOUT_SECONDS", "30")
