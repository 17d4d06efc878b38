"""The window settlement API over HTTP: signed like the intake API, field-named refusals."""

import json
import secrets
import time

import pytest

from claims.api import signature
from claims.models import Settlement, WindowSettlement
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(products):
    roster(SELF_ID, "张桂兰")
    active_policy(make_resident())
    return settlement_source()


def call(client, path, payload=None, *, nonce=None, secret="feed-secret"):
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    timestamp, nonce = str(int(time.time())), nonce or secrets.token_hex(8)
    return client.post(path, data=body, content_type="application/json", HTTP_X_KEY_ID="WW-FEED-1",
                       HTTP_X_TIMESTAMP=timestamp, HTTP_X_NONCE=nonce,
                       HTTP_X_SIGNATURE=signature(secret, "POST", path, timestamp, nonce, body))


def test_quote_settle_repeat_and_reverse_through_the_api(client, source):
    quote = call(client, "/api/v1/window/quote", {"record": settlement_record("S1")})
    assert quote.status_code == 200 and quote.json()["payout"] == "5400.00" and quote.json()["status"] == "quoted"
    assert not Settlement.objects.exists()
    settled = call(client, "/api/v1/window/settlements", {"record": settlement_record("S1")})
    assert settled.status_code == 200 and settled.json()["status"] == "settled"
    assert settled.json()["patient_pays"] == "25600.00" and "免赔额" in settled.json()["lines"][0]["explanation"]
    again = call(client, "/api/v1/window/settlements", {"record": settlement_record("S1")})
    assert again.json() == settled.json() and WindowSettlement.objects.count() == 1
    changed = call(client, "/api/v1/window/settlements",
                   {"record": settlement_record("S1", in_catalog_self_pay="20000.00")})
    assert changed.status_code == 409 and changed.json()["errors"][0]["code"] == "conflict"
    reversed_ = call(client, "/api/v1/window/settlements/S1/reversal")
    assert reversed_.status_code == 200 and reversed_.json()["payout_reversed"] == "5400.00"
    assert call(client, "/api/v1/window/settlements/NOPE/reversal").status_code == 404


def test_refusals_name_the_field_and_write_nothing(client, source):
    bad = settlement_record("S1")
    bad["visit_type"] = "spa"
    response = call(client, "/api/v1/window/settlements", {"record": bad})
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("visit_type", "invalid_choice")]
    assert "visit_type" in response.json()["errors"][0]["message"]
    nobody = call(client, "/api/v1/window/settlements", {"record": settlement_record("S2", id_number="110101199003077777")})
    assert nobody.status_code == 422
    assert call(client, "/api/v1/window/settlements", {"rec": 1}).json()["errors"][0]["field"] == "record"
    assert call(client, "/api/v1/window/settlements", [1]).status_code == 400
    assert not Settlement.objects.exists()


def test_unsigned_and_replayed_calls_are_refused(client, source):
    response = call(client, "/api/v1/window/quote", {"record": settlement_record("S1")}, secret="wrong")
    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_signature"
    call(client, "/api/v1/window/quote", {"record": settlement_record("S1")}, nonce="once")
    replay = call(client, "/api/v1/window/quote", {"record": settlement_record("S1")}, nonce="once")
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "nonce_reused"


def test_the_openapi_document_describes_the_window_calls(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/window/quote", "/window/settlements", "/window/settlements/{settlement_id}/reversal"} <= set(paths)
    assert "409" in paths["/window/settlements"]["post"]["responses"]
