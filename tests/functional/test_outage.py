"""Failing well (issue 18): static error pages, 503 with Retry-After when the database or the cache
is down, one log line per failure with a request id, log volume bounded under a storm.

The outage tests run the project under gunicorn (as in production) in a subprocess pointed at a
database or a Redis that does not answer, and read its log."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.http import HttpResponse
from django.urls import path

from tests.factories import login_as, make_resident

ROOT = Path(__file__).resolve().parents[2]


def _boom(request):
    raise RuntimeError("a bug in a view")


# The test URLconf of test_a_bug_answers_the_static_500_page (pytest.mark.urls).
urlpatterns = [path("boom/", _boom), path("ok/", lambda request: HttpResponse("ok"))]
handler500 = "portal.errors.server_error"


@pytest.mark.django_db
@pytest.mark.urls("tests.functional.test_outage")
def test_a_bug_answers_the_static_500_page(client):
    resident = make_resident()
    login_as(client, resident.user)
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "系统出错" in page and response["X-Request-ID"] in page
    assert "Traceback" not in page and "RuntimeError" not in page


class _Unreachable:
    """A user or a session whose every use fails, as during an outage."""

    def __getattr__(self, name):
        raise AssertionError(f"the error page touched {name}")


def test_the_error_pages_touch_neither_the_user_nor_the_session(rf):
    """The 500 handler used to render base.html, which reads the user from the database: during
    an outage that failed again and gunicorn answered its bare English error."""
    from django.db import OperationalError

    from portal.errors import server_error

    request = rf.get("/policies/")
    request.user, request.session = _Unreachable(), _Unreachable()
    for exc, status in ((RuntimeError("bug"), 500), (OperationalError("connection refused"), 503)):
        try:
            raise exc
        except Exception:
            response = server_error(request)
        assert response.status_code == status
        assert "<!doctype html>" in response.content.decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """Start gunicorn as the README's production section does (DEBUG off) with some environment
    overridden; yields (base URL, log path)."""
    started = []

    def start(**overrides):
        port = _free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        env = {**os.environ, "DEBUG": "0", **overrides}
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "--workers", "1", "--no-control-socket",
             "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health/live/", timeout=60).status_code == 200:
                    return url, log
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(log.read_text())

    yield start
    for process in started:
        process.terminate()
        process.wait(20)


def _assert_unavailable(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "服务暂时不可用" in response.text and response.headers["X-Request-ID"] in response.text
    assert "Traceback" not in response.text


def test_a_database_outage_answers_503_at_once_and_logs_one_line_per_failure(gunicorn):
    url, log = gunicorn(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{_free_port()}/portal")
    signed_in = {"sessionid": "x" * 32}  # not in the cache: the session is read from the database
    ids = []
    for path_ in ("/", "/policies/", "/products/wuwei-2025/"):
        started = time.monotonic()
        response = requests.get(url + path_, cookies=signed_in, timeout=10)
        assert time.monotonic() - started < 5  # the connect timeout is 3 s; a refused connection fails at once
        _assert_unavailable(response)
        ids.append(response.headers["X-Request-ID"])

    health = requests.get(f"{url}/health/", timeout=10)
    assert health.status_code == 503 and health.headers["Retry-After"] == "30"
    assert "Database(alias='default'): Unavailable" in health.text and "Cache(alias='default'): OK" in health.text
    assert requests.get(f"{url}/health/", headers={"Accept": "application/json"}, timeout=10).json()[
        "Database(alias='default')"] != "OK"
    assert requests.get(f"{url}/health/live/", timeout=10).status_code == 200

    time.sleep(0.5)
    text = log.read_text()
    assert "Traceback" not in text and "During handling" not in text
    for rid in ids:
        lines = [line for line in text.splitlines() if rid in line]
        assert len(lines) == 1 and "OperationalError" in lines[0], lines

    # A storm: 300 failing requests write a bounded log (each failure used to write ~47 KB).
    before = len(text.encode())
    with requests.Session() as session:
        for _ in range(300):
            assert session.get(url + "/", cookies=signed_in, timeout=10).status_code == 503
    time.sleep(0.5)
    written = log.read_text()[len(text):]
    assert len(written.encode()) < 300 * 250 and len(log.read_bytes()) - before < 300 * 250
    assert "lines suppressed since the last one" in written or len(written.splitlines()) <= 300


def test_a_cache_outage_answers_503_where_the_cache_is_needed(gunicorn):
    """Pages that can do without Redis still answer (sessions fall back to the database); sending
    a sign-in code needs its rate limits in Redis, so it answers 503, at once."""
    import re

    url, _ = gunicorn(REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")
    with requests.Session() as session:
        page = session.get(f"{url}/account/login/", timeout=10)
        assert page.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        started = time.monotonic()
        response = session.post(f"{url}/account/login/code/", data={"phone": "13800000001"},
                                headers={"X-CSRFToken": token, "Referer": f"{url}/account/login/"}, timeout=10)
        assert time.monotonic() - started < 5
        _assert_unavailable(response)
    health = requests.get(f"{url}/health/", timeout=10)
    assert health.status_code == 503 and "Cache(alias='default'): Unexpected Result: Connection Error" in health.text
