"""The simulators of the outside systems, reached over real HTTP on loopback.

Every adapter (payments, SMS, identity verification, the medical-insurance platform) speaks its
counterpart's real protocol over HTTP to a base URL from settings. In production that is the real
counterpart; in development it is this project's own simulators under ``/sim/``; in tests it is
this server: a single-threaded WSGI server on ``127.0.0.1:<free port>`` in the test process,
serving the project (``settings.SIMULATOR_BASE_URL`` points at its ``/sim``).

The server uses the **current test's database connection** (shared with the server thread for
the test's duration), so a simulator reads what the test wrote and its own writes are rolled
back with the test, exactly like the code under test. One request at a time, each whole inside a
lock. Worker processes' requests can still be queued when their test ends: the ``worker`` fixture
calls ``quiesce()`` after stopping them, so none reaches the connection while the test's data is
flushed. Worker processes started by a test inherit the URL through the
``SIMULATOR_BASE_URL`` environment variable; they run in tests that commit their data
(``transactional_db``).
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections


class _Server(WSGIServer):
    # Tests send bursts (50 threads buying at once): queue them rather than refuse connections.
    request_queue_size = 128


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's signature
        pass


class _SharedConnectionHandler(WSGIHandler):
    """Django's WSGI handler that first takes over the test thread's connection and, like the test
    client's handler, never closes it at a request's start or end (it is inside the test's
    transaction)."""

    shared = None
    closed = False  # after quiesce(): answer 503 without touching the database

    def __init__(self):
        super().__init__()
        self.busy = threading.Lock()  # held for a whole request, so quiesce() waits for the one in flight

    def __call__(self, environ, start_response):
        with self.busy:
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"the test that sent this request has ended"]
            if self.shared is not None:
                connections[DEFAULT_DB_ALIAS] = self.shared
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
            try:
                response = super().__call__(environ, start_response)
                body = b"".join(response)  # the response is read and closed inside the lock
                response.close()
            finally:
                request_started.connect(close_old_connections)
                request_finished.connect(close_old_connections)
        return [body]


class LoopbackServer:
    def __init__(self) -> None:
        self.handler = _SharedConnectionHandler()
        self.httpd: WSGIServer = make_server("127.0.0.1", 0, self.handler, server_class=_Server, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="simulators", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def share(self, connection) -> None:
        connection.inc_thread_sharing()
        self.handler.shared = connection
        self.handler.closed = False

    def quiesce(self) -> None:
        """Wait for the request in flight, then answer every later one 503 until the next test
        shares its connection: requests that worker processes left queued (their callers gave up
        or were stopped) must not use the test's connection while the test's data is flushed."""
        with self.handler.busy:
            self.handler.closed = True

    def unshare(self) -> None:
        if self.handler.shared is not None:
            self.handler.shared.dec_thread_sharing()
            self.handler.shared = None

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
