"""The token endpoint's common case is answered before routing (web/fast_token.py); every
other request reaches the full endpoint, which answers exactly as before."""

import sqlite3
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casegate.oauth.server import AuthorizationServer
from casegate.storage.reader import SqliteReader
from casegate.web.fast_token import FastToken
from fixtures.factories import get_token

TOKEN = "/prweb/PRRestService/oauth2/v1/token"


@pytest.fixture
def full_endpoint_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of the full endpoint's server, by grant type."""
    calls: list[str] = []
    original = AuthorizationServer.token

    def counted(self: AuthorizationServer, request: Any) -> Any:
        calls.append(request.form.get("grant_type", ""))
        return original(self, request)

    monkeypatch.setattr(AuthorizationServer, "token", counted)
    return calls


def test_common_case_is_answered_without_the_full_endpoint(
        http: TestClient, demo: dict[str, Any], full_endpoint_calls: list[str]) -> None:
    response = http.post(TOKEN, data={"grant_type": "client_credentials", "scope": "cases"},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200
    assert response.json()["scope"] == "cases"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"  # Guard still wraps it
    body = get_token(http, demo["client_id"], demo["client_secret"])  # client_secret_basic
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert full_endpoint_calls == []


@pytest.mark.parametrize("case", ["wrong secret", "unknown client", "unknown scope",
                                  "scope in the URL", "repeated field"])
def test_anything_else_goes_to_the_full_endpoint(
        http: TestClient, demo: dict[str, Any], full_endpoint_calls: list[str],
        case: str) -> None:
    auth = (demo["client_id"], demo["client_secret"])
    url, body = TOKEN, "grant_type=client_credentials"
    if case == "wrong secret":
        auth = (demo["client_id"], "not-the-secret")
    elif case == "unknown client":
        auth = ("00000000000000000000", demo["client_secret"])
    elif case == "unknown scope":
        body += "&scope=nothing-like-it"
    elif case == "scope in the URL":
        url += "?scope=cases"
    else:
        body += "&scope=cases&scope=cases"
    response = http.post(url, content=body, auth=auth,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.headers["cache-control"] == "no-store"
    if case == "scope in the URL":  # a URL query is not the common case, yet no error
        assert response.status_code == 200
    else:
        assert response.status_code in (400, 401)
        assert "error" in response.json()
    # the full endpoint answered (its server runs only once the form parsed)
    if case != "repeated field":
        assert full_endpoint_calls == ["client_credentials"]


def test_a_disabled_client_gets_no_token_from_either_path(
        http: TestClient, demo: dict[str, Any], db: Any) -> None:
    from casegate.storage.models import ClientRegistration

    with db() as session, session.begin():
        session.get(ClientRegistration, demo["client_id"]).enabled = False
    response = http.post(TOKEN, data={"grant_type": "client_credentials"},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_failing_inline_read_hands_over_to_the_full_endpoint(
        http: TestClient, demo: dict[str, Any], full_endpoint_calls: list[str],
        monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    def locked(self: Any, *args: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SqliteReader, "rows", locked)
    body = get_token(http, demo["client_id"], demo["client_secret"])
    assert body["token_type"] == "Bearer"
    # on SQLite the inline read failed and the full endpoint answered; PostgreSQL never reads
    # inline, so its fast path answered
    assert full_endpoint_calls == (["client_credentials"] if backend == "sqlite" else [])


def test_an_error_in_the_fast_path_is_the_full_endpoints_to_answer(
        http: TestClient, demo: dict[str, Any], full_endpoint_calls: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(FastToken, "decide", broken)
    body = get_token(http, demo["client_id"], demo["client_secret"])
    assert body["token_type"] == "Bearer"
    assert full_endpoint_calls == ["client_credentials"]
