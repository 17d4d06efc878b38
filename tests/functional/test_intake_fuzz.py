"""Schema-driven fuzzing of the settlement intake API (issue 13, item 7) with Schemathesis: cases
generated from the project's own OpenAPI document (``claims/openapi.py``), each correctly signed so
that the body reaches the validation behind the signature, sent in-process through the WSGI
application. No case may answer 5xx, and every answer must match the document (its status
codes, its JSON error shape). Bounded: a fixed number of examples per operation."""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from claims.api import signature
from claims.openapi import document
from tests.factories import settlement_source

pytestmark = pytest.mark.django_db
SECRET, KEY_ID = "fuzz-feed-secret-0123456789abcdef", "WW-FUZZ-1"

schema = schemathesis.openapi.from_dict(document("http://testserver"))
CHECKS = [schemathesis.checks.not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def source(products):
    return settlement_source(secret=SECRET, key_id=KEY_ID)


@pytest.fixture
def application():
    """The WSGI application, called in-process on the test's database connection: as Django's
    test client does, the connection is not closed at the end of each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from portal.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_intake_api_answers_every_generated_request_within_its_document(case, source, application):
    if case.body is NOT_SET:
        body = b""
    elif isinstance(case.body, bytes):  # negative cases: raw bytes that are not JSON at all
        body = case.body
    else:
        body = json.dumps(case.body).encode()
    path = unquote(case.operation.schema.get_full_path(case.formatted_path))
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    headers = {"X-Key-Id": KEY_ID, "X-Timestamp": timestamp, "X-Nonce": nonce, "Content-Type": "application/json",
               "X-Signature": signature(SECRET, case.method.upper(), path, timestamp, nonce, body)}
    response = case.call(app=application, headers=headers, data=body)
    case.validate_response(response, checks=CHECKS)
