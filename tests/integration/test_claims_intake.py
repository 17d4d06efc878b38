"""The settlement intake API: signed requests, replay protection, per-record answers, idempotency."""

import importlib
import json
import secrets
import time

import pytest
from django.apps import apps as django_apps
from django.db import connection

from claims.api import signature
from claims.models import Settlement
from portal import crypto
from tests.factories import (
    SELF_ID,
    active_policy,
    make_resident,
    roster,
    settlement_record,
    settlement_source,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/settlements"


@pytest.fixture
def source(products):
    roster(SELF_ID, "张桂兰")
    active_policy(make_resident())
    return settlement_source()


def post(client, records=None, *, body=None, secret="feed-secret", key_id="WW-FEED-1", timestamp=None, nonce=None,
         path=URL):
    body = body if body is not None else json.dumps({"records": records}, ensure_ascii=False).encode()
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    headers = {
        "HTTP_X_KEY_ID": key_id,
        "HTTP_X_TIMESTAMP": timestamp,
        "HTTP_X_NONCE": nonce,
        "HTTP_X_SIGNATURE": signature(secret, "POST", path, timestamp, nonce, body),
    }
    return client.post(path, data=body, content_type="application/json", **headers)


def test_a_signed_batch_is_accepted_and_matched_to_the_policy(client, source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, [settlement_record("S1"), settlement_record("S2", settled="2025-09-01T10:00:00+08:00")])
    assert response.status_code == 200
    assert response.json()["counts"] == {"accepted": 2, "conflict": 0, "refused": 0}
    assert set(Settlement.objects.values_list("match_status", flat=True)) == {"matched"}
    assert len(callbacks) == 1  # one recomputation of the policy year is enqueued, on commit
    stored = Settlement.objects.get(settlement_id="S1")
    assert stored.received == settlement_record("S1") and stored.id_masked == SELF_ID[:6] + "********" + SELF_ID[-4:]


def test_the_stored_record_and_its_history_keep_the_id_number_only_encrypted(client, source):
    post(client, [settlement_record("S1")])
    stored = Settlement.objects.get(settlement_id="S1")
    assert "id_number" not in stored.record and stored.id_number == SELF_ID
    with connection.cursor() as cursor:
        for table in ("claims_settlement", "claims_settlementevent"):
            cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE row_to_json(t)::text LIKE %s) FROM {table} t",
                           [f"%{SELF_ID}%"])
            assert cursor.fetchone() == (1, 0), table


def test_the_data_migration_seals_records_already_stored_and_their_history(client, source):
    """Rows stored before: the record held the ID verbatim, in the row and in its history copy."""
    post(client, [settlement_record("S1")])
    with connection.cursor() as cursor:
        for table in ("claims_settlement", "claims_settlementevent"):
            cursor.execute(f"UPDATE {table} SET id_cipher = '', record = record || jsonb_build_object('id_number', %s)",
                           [SELF_ID.lower()])
    migration = importlib.import_module("claims.migrations.0006_settlement_id_encrypted")
    migration.seal_records(django_apps, None)
    stored = Settlement.objects.get(settlement_id="S1")
    assert "id_number" not in stored.record and stored.received["id_number"] == SELF_ID.lower()
    event = stored.events.get()
    assert "id_number" not in event.record and crypto.decrypt(event.id_cipher) == SELF_ID.lower()


def test_a_partial_batch_keeps_the_good_records_and_names_each_bad_one(client, source):
    bad = settlement_record("S2")
    bad["amounts"]["in_catalog_self_pay"] = "1.005"
    bad["hospital_level"] = 7
    response = post(client, [settlement_record("S1"), bad, {"settlement_id": 5}])
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "refused", "refused"]
    assert {(e["field"], e["code"]) for e in results[1]["errors"]} == {
        ("amounts.in_catalog_self_pay", "too_many_places"), ("hospital_level", "out_of_range")}
    assert results[1]["settlement_id"] == "S2" and results[1]["index"] == 1
    assert all("：" in e["message"] for e in results[1]["errors"])
    assert list(Settlement.objects.values_list("settlement_id", flat=True)) == ["S1"]


def test_the_same_record_again_gets_the_same_answer_and_changes_nothing(client, source):
    post(client, [settlement_record("S1")])
    response = post(client, [settlement_record("S1")])
    assert response.json()["results"][0]["status"] == "accepted"
    assert Settlement.objects.count() == 1


def test_the_same_id_with_different_content_is_a_conflict_never_an_overwrite(client, source):
    post(client, [settlement_record("S1")])
    response = post(client, [settlement_record("S1", in_catalog_self_pay="99999.00")])
    result = response.json()["results"][0]
    assert result["status"] == "conflict" and result["errors"][0]["code"] == "conflict"
    assert Settlement.objects.get().received["amounts"]["in_catalog_self_pay"] == "30000.00"


def test_a_settlement_matching_no_policy_is_kept_with_the_reason(client, source):
    response = post(client, [settlement_record("S9", admission="2027-01-05", settled="2027-01-09T10:00:00+08:00")])
    assert response.json()["results"][0]["status"] == "accepted"
    stored = Settlement.objects.get()
    assert stored.match_status == "unmatched" and "保障期" in stored.unmatched_reason


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret": "wrong"}, "bad_signature"),
        ({"key_id": "NOPE"}, "unknown_key"),
        ({"timestamp": str(int(time.time()) - 301)}, "stale_request"),
    ],
)
def test_bad_credentials_are_refused_and_nothing_is_stored(client, source, kwargs, code):
    response = post(client, [settlement_record("S1")], **kwargs)
    assert response.status_code == 401 and response.json()["error"]["code"] == code
    assert not Settlement.objects.exists()


def test_a_nonce_is_accepted_once(client, source):
    assert post(client, [settlement_record("S1")], nonce="n-1").status_code == 200
    response = post(client, [settlement_record("S2")], nonce="n-1")
    assert response.status_code == 401 and response.json()["error"]["code"] == "nonce_reused"
    assert Settlement.objects.count() == 1


def test_more_than_1000_records_are_refused_whole(client, source):
    response = post(client, [settlement_record(f"S{i}") for i in range(1001)])
    assert response.status_code == 413 and not Settlement.objects.exists()


def test_malformed_json_is_refused(client, source):
    response = post(client, body=b"{records:")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_a_correction_reverses_the_old_settlement(client, source):
    post(client, [settlement_record("S1")])
    correction = {**settlement_record("S1-R", in_catalog_self_pay="20000.00"), "reverses": "S1"}
    assert post(client, [correction]).json()["results"][0]["status"] == "accepted"
    assert Settlement.objects.get(settlement_id="S1").reversed_at is not None
    again = {**settlement_record("S1-R2"), "reverses": "S1"}
    result = post(client, [again]).json()["results"][0]
    assert result["status"] == "refused" and result["errors"][0]["code"] == "already_reversed"


def test_the_reversal_endpoint(client, source):
    post(client, [settlement_record("S1")])
    path = "/api/v1/settlements/S1/reversal"
    response = post(client, body=b"", path=path)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Settlement.objects.get().reversed_at is not None
    assert post(client, body=b"", path="/api/v1/settlements/NOPE/reversal").status_code == 404
