"""SECURITY Decision 8: failed client authentications are throttled, real clients never locked out."""

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.db import transaction
from casegate.storage.models import FailureCount
from fixtures.factories import TOKEN_PATH

FORM = {"grant_type": "client_credentials"}


def test_eleventh_failure_in_a_minute_gets_429_with_retry_after(
        http: TestClient, demo: dict[str, Any]) -> None:
    statuses = [http.post(TOKEN_PATH, data=FORM, auth=(demo["client_id"], "wrong")).status_code
                for _ in range(10)]
    assert statuses == [401] * 10
    throttled = http.post(TOKEN_PATH, data=FORM, auth=(demo["client_id"], "wrong"))
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert throttled.headers["cache-control"] == "no-store"
    assert throttled.json()["error"] == "invalid_client"


def test_the_right_secret_still_gets_a_token_while_failures_are_throttled(
        http: TestClient, demo: dict[str, Any]) -> None:
    for _ in range(12):
        http.post(TOKEN_PATH, data=FORM, auth=(demo["client_id"], "wrong"))
    ok = http.post(TOKEN_PATH, data=FORM, auth=(demo["client_id"], demo["client_secret"]))
    assert ok.status_code == 200


def test_failures_for_one_client_do_not_throttle_another_client_id(
        http: TestClient, demo: dict[str, Any]) -> None:
    for _ in range(12):
        http.post(TOKEN_PATH, data=FORM, auth=(demo["client_id"], "wrong"))
    other = http.post(TOKEN_PATH, data=FORM, auth=("11111111111111111111", "wrong"))
    assert other.status_code == 401


def test_expired_failure_windows_are_deleted_so_made_up_ids_do_not_pile_up(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session]) -> None:
    with transaction(db) as session:
        session.add(FailureCount(key="client:old|1.2.3.4", window_start=time.time() - 3600,
                                 count=3))
    http.post(TOKEN_PATH, data=FORM, auth=("22222222222222222222", "wrong"))
    with db() as session:
        keys = set(session.scalars(select(FailureCount.key)))
    assert "client:old|1.2.3.4" not in keys
    assert any(key.startswith("client:22222222222222222222|") for key in keys)
