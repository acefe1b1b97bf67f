"""Introspection's common case is answered before routing (web/fast_introspect.py), by the one
client authentication and the one bearer validation; every refusal reaches the full endpoint,
which answers and audits it as before."""

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.oauth.server import AuthorizationServer
from casegate.storage.models import AuditEvent
from casegate.storage.pg_reader import PostgresReader, ReaderError
from casegate.storage.reader import SqliteReader
from casegate.web.fast_introspect import FastIntrospect
from fixtures.factories import INTROSPECT_PATH, REVOKE_PATH, get_token

Forge = Callable[..., str]


@pytest.fixture
def full_endpoint_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of the full endpoints' server, by endpoint name."""
    calls: list[str] = []
    original = AuthorizationServer.endpoint

    def counted(self: AuthorizationServer, name: str, request: Any) -> Any:
        calls.append(name)
        return original(self, name, request)

    monkeypatch.setattr(AuthorizationServer, "endpoint", counted)
    return calls


@pytest.fixture
def token(http: TestClient, demo: dict[str, Any]) -> str:
    return str(get_token(http, demo["client_id"], demo["client_secret"])["access_token"])


def introspected(http: TestClient, demo: dict[str, Any], token: str) -> dict[str, Any]:
    response = http.post(INTROSPECT_PATH, data={"token": token},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"  # Guard's headers too
    body: dict[str, Any] = response.json()
    return body


def audit_events(db: sessionmaker[Session]) -> list[tuple[str, str]]:
    with db() as session:
        return [(row.event, row.outcome) for row in session.scalars(
            select(AuditEvent).where(AuditEvent.event == "token.introspect"))]


def test_active_and_inactive_answers_come_from_the_fast_front_and_are_not_audited(
        http: TestClient, demo: dict[str, Any], token: str, forge: Forge,
        db: sessionmaker[Session], full_endpoint_calls: list[str]) -> None:
    body = introspected(http, demo, token)
    assert body["active"] is True and body["client_id"] == demo["client_id"]
    assert body["username"] == demo["operator"]
    now = int(time.time())
    expired = forge(iat=now - 7200, exp=now - 3600)
    assert introspected(http, demo, expired) == {"active": False}
    assert introspected(http, demo, "garbage") == {"active": False}
    assert full_endpoint_calls == []
    assert audit_events(db) == []


@pytest.mark.parametrize("case", ["wrong secret", "no token", "not a form", "in the URL"])
def test_refusals_go_to_the_full_endpoint_and_are_audited(
        http: TestClient, demo: dict[str, Any], token: str, db: sessionmaker[Session],
        full_endpoint_calls: list[str], case: str) -> None:
    auth = (demo["client_id"], demo["client_secret"])
    url, content, ctype = INTROSPECT_PATH, f"token={token}", "application/x-www-form-urlencoded"
    if case == "wrong secret":
        auth = (demo["client_id"], "not-the-secret")
    elif case == "no token":
        content = "token_type_hint=access_token"
    elif case == "not a form":
        ctype = "application/json"
    else:
        url += f"?token={token}"
    response = http.post(url, content=content, auth=auth, headers={"Content-Type": ctype})
    assert response.status_code == (401 if case == "wrong secret" else 400), response.text
    assert response.headers["cache-control"] == "no-store"
    if case in ("wrong secret", "no token"):  # the others are refused before the server runs
        assert full_endpoint_calls == ["introspection"]
    assert http.app.state.runtime.audit.flush()  # what the batched writer holds
    assert audit_events(db) == [("token.introspect", "refused")]


def test_a_revoked_token_is_inactive_at_the_next_request(
        http: TestClient, demo: dict[str, Any], token: str,
        full_endpoint_calls: list[str]) -> None:
    assert introspected(http, demo, token)["active"] is True  # and its signature memoized
    revoked = http.post(REVOKE_PATH, data={"token": token},
                        auth=(demo["client_id"], demo["client_secret"]))
    assert revoked.status_code == 200
    assert introspected(http, demo, token) == {"active": False}
    assert full_endpoint_calls == ["revocation"]


def test_a_failing_inline_read_hands_over_to_the_full_endpoint(
        http: TestClient, demo: dict[str, Any], token: str, full_endpoint_calls: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # answered by the front: inline on SQLite; on PostgreSQL through a pooled connection,
    # after which the front reads inline on its own connection
    assert introspected(http, demo, token)["active"] is True

    def failing(self: Any, *args: Any) -> Any:
        if isinstance(self, SqliteReader):
            raise sqlite3.OperationalError("database is locked")
        raise ReaderError("canceling statement due to statement timeout")

    monkeypatch.setattr(SqliteReader, "rows", failing)
    monkeypatch.setattr(PostgresReader, "rows", failing)
    assert introspected(http, demo, token)["active"] is True
    assert full_endpoint_calls == ["introspection"]


def test_an_error_in_the_fast_front_is_the_full_endpoints_to_answer(
        http: TestClient, demo: dict[str, Any], token: str, full_endpoint_calls: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(FastIntrospect, "decide", broken)
    assert introspected(http, demo, token)["active"] is True
    assert full_endpoint_calls == ["introspection"]
