"""Gunicorn for the benches: the portal, or the counterparts' simulators standing for the outside
systems, started as the README's production section starts it, on a bench's throwaway database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database: str, **extra: str) -> dict:
    """The bench's environment for a server on ``database``: DEBUG off, and not ``production``
    (production refuses the simulators)."""
    env = {**os.environ, "PORTAL_DATABASE_NAME": database, "DEBUG": "0", "LOG_LEVEL": "WARNING", **extra}
    env.pop("PORTAL_ENV", None)
    return env


def gunicorn(port: int, workers: int, env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "portal.wsgi", "--workers", str(workers),
                             "--bind", f"127.0.0.1:{port}", "--no-control-socket"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)


def wait_live(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until ``url`` answers ``/health/live/``; SystemExit if it has not within ``timeout`` seconds
    or the process ended (the caller stops what it started)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/health/live/", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"gunicorn at {url} did not start: see {LOG_DIR}")
