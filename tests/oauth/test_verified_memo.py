"""The per-process memo of verified signatures (oauth/bearer.py) never keeps a token alive: its
expiry and the deny list are read on every request, and the memo stays bounded."""

import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.oauth import bearer, denylist
from casegate.oauth.keys import KeyRing
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import CASES_PATH, INTROSPECT_PATH, SEED_BODY, get_token


def active(http: TestClient, demo: dict[str, Any], token: str) -> bool:
    response = http.post(INTROSPECT_PATH, data={"token": token},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


@pytest.fixture
def token(http: TestClient, demo: dict[str, Any]) -> str:
    token = str(get_token(http, demo["client_id"], demo["client_secret"])["access_token"])
    assert active(http, demo, token)  # verified once: remembered from here on
    assert bearer.VERIFIED.get(token) is not None
    return token


def test_a_remembered_token_fails_once_it_expires(
        http: TestClient, demo: dict[str, Any], token: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    later = time.time() + 3600 + 61  # past exp and the 60 s leeway
    monkeypatch.setattr(bearer, "time", SimpleNamespace(time=lambda: later))
    assert not active(http, demo, token)
    refused = http.post(CASES_PATH, json=SEED_BODY, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_a_remembered_token_fails_once_on_the_deny_list(
        http: TestClient, demo: dict[str, Any], token: str, db: sessionmaker[Session],
        settings: Settings) -> None:
    with transaction(db) as session:
        denylist.add_suspicious(session, KeyRing(db, settings), token, "leaked")
    assert not active(http, demo, token)


def test_the_memo_drops_expired_tokens_first_and_stays_bounded() -> None:
    memo = bearer.VerifiedTokens(size=4)
    now = time.time()
    for i in range(3):
        memo.put(f"old{i}", "kid", {"exp": now - bearer.MAX_LEEWAY - 1})
    memo.put("live", "kid", {"exp": now + 3600})
    memo.put("new", "kid", {"exp": now + 3600})  # full: the expired ones go
    assert [memo.get(t) is not None for t in ("old0", "old1", "old2", "live", "new")] == [
        False, False, False, True, True]
    for i in range(10):  # only live tokens: bounded all the same
        memo.put(f"more{i}", "kid", {"exp": now + 3600})
        assert len(memo) <= 4
