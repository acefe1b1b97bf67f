"""SECURITY Decision 6: a regenerated secret revokes tokens, unless a grace period is chosen."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.clients import service
from casegate.errors import Invalid
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH, bearer, get_token

FORM = {"grant_type": "client_credentials"}


def regenerate(db: sessionmaker[Session], settings: Settings, client_id: str,
               grace: int) -> str:
    with transaction(db) as session:
        return service.regenerate_secret(session, settings.hmac_key(), client_id, grace=grace)


def test_with_a_grace_period_old_secret_and_old_tokens_keep_working(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    client_id, old = demo["client_id"], demo["client_secret"]
    token = get_token(http, client_id, old)["access_token"]
    new = regenerate(db, settings, client_id, grace=300)
    assert http.post(TOKEN_PATH, data=FORM, auth=(client_id, old)).status_code == 200
    assert http.post(TOKEN_PATH, data=FORM, auth=(client_id, new)).status_code == 200
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201


def test_without_grace_old_secret_fails_at_once_and_tokens_are_revoked(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    client_id, old = demo["client_id"], demo["client_secret"]
    token = get_token(http, client_id, old)["access_token"]
    new = regenerate(db, settings, client_id, grace=0)
    assert http.post(TOKEN_PATH, data=FORM, auth=(client_id, old)).status_code == 401
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 401
    fresh = get_token(http, client_id, new)["access_token"]
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(fresh)).status_code == 201


def test_a_second_regeneration_ends_the_first_secrets_grace(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    client_id, first = demo["client_id"], demo["client_secret"]
    second = regenerate(db, settings, client_id, grace=300)
    regenerate(db, settings, client_id, grace=300)
    assert http.post(TOKEN_PATH, data=FORM, auth=(client_id, first)).status_code == 401
    assert http.post(TOKEN_PATH, data=FORM, auth=(client_id, second)).status_code == 200


@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1])
def test_grace_outside_zero_to_a_week_is_refused(
        db: sessionmaker[Session], settings: Settings, demo: dict[str, Any], grace: int) -> None:
    with pytest.raises(Invalid, match="grace period"):
        regenerate(db, settings, demo["client_id"], grace=grace)
