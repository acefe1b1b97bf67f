"""RFC 7662 token introspection: a client looks at its own tokens, and only at those."""

import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import operators
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import (
    INTROSPECT_PATH,
    REVOKE_PATH,
    get_token,
    make_registration,
)
from oauth.jwt_parts import claims_of

INACTIVE = {"active": False}
CLIENT_FAILED = {"error": "invalid_client", "error_description": "client authentication failed"}

Forge = Callable[..., str]


def auth(demo: dict[str, Any]) -> tuple[str, str]:
    return demo["client_id"], demo["client_secret"]


def introspect(http: TestClient, demo: dict[str, Any], token: str,
               **form: str) -> httpx.Response:
    return http.post(INTROSPECT_PATH, data={"token": token, **form}, auth=auth(demo))


def answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    # RFC 7662 §2.2: a JSON answer; it describes a credential, so it must not be cached
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def test_own_token_is_active_with_its_claims(http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, *auth(demo))["access_token"]
    claims = claims_of(token)
    body = answer(introspect(http, demo, token))
    assert body["active"] is True
    assert body["scope"] == claims["scope"]
    assert set(body["scope"].split(" ")) == {"cases", "casetypes"}
    assert body["client_id"] == demo["client_id"]
    assert body["sub"] == demo["operator"]
    assert body["exp"] == claims["exp"]
    assert body["iat"] == claims["iat"]
    assert body["token_type"] == "Bearer"
    # optional members, when present, tell the truth about the token
    for name in ("aud", "iss", "jti"):
        if name in body:
            assert body[name] == claims[name], name
    assert body.get("username", demo["operator"]) == demo["operator"]


def test_own_token_is_active_by_client_secret_post_and_whatever_the_hint(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, *auth(demo))["access_token"]
    by_post = http.post(INTROSPECT_PATH, data={"token": token, "client_id": demo["client_id"],
                                               "client_secret": demo["client_secret"]})
    assert answer(by_post)["active"] is True
    # RFC 7662 §2.1: a hint that does not fit only widens the search
    for hint in ("access_token", "refresh_token", "no_such_hint"):
        assert answer(introspect(http, demo, token, token_type_hint=hint))["active"] is True, hint


def test_revoked_token_and_token_of_a_disabled_operator_are_inactive(
        http: TestClient, db: sessionmaker[Session], demo: dict[str, Any]) -> None:
    revoked, kept = (get_token(http, *auth(demo))["access_token"] for _ in range(2))
    assert http.post(REVOKE_PATH, data={"token": revoked}, auth=auth(demo)).status_code == 200
    assert answer(introspect(http, demo, revoked)) == INACTIVE
    assert answer(introspect(http, demo, kept))["active"] is True
    with transaction(db) as session:
        operators.set_enabled(session, demo["operator"], False)
    assert answer(introspect(http, demo, kept)) == INACTIVE


def test_expired_token_is_inactive(http: TestClient, demo: dict[str, Any], forge: Forge) -> None:
    now = int(time.time())
    # control: the same forgery, unexpired, is active, so the answer below is about `exp`
    assert answer(introspect(http, demo, forge()))["active"] is True
    assert answer(introspect(http, demo, forge(iat=now - 7200, exp=now - 3600))) == INACTIVE
    assert answer(introspect(http, demo, forge(iat=now - 60, exp=now - 60))) == INACTIVE


def test_garbage_is_inactive(http: TestClient, demo: dict[str, Any]) -> None:
    for token in ("garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"):
        assert answer(introspect(http, demo, token)) == INACTIVE, token


def test_another_clients_token_is_inactive_for_this_client(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    registration, secret = make_registration(db, settings)
    theirs = get_token(http, registration.client_id, secret)["access_token"]
    assert answer(introspect(http, demo, theirs)) == INACTIVE
    # and still active for its own client
    own = http.post(INTROSPECT_PATH, data={"token": theirs},
                    auth=(registration.client_id, secret))
    assert answer(own)["active"] is True


def test_introspection_requires_client_authentication(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, *auth(demo))["access_token"]
    anonymous = http.post(INTROSPECT_PATH, data={"token": token})
    assert anonymous.status_code == 401
    assert anonymous.json() == CLIENT_FAILED
    assert anonymous.headers["cache-control"] == "no-store"
    wrong = http.post(INTROSPECT_PATH, data={"token": token},
                      auth=(demo["client_id"], "wrong-secret"))
    assert wrong.status_code == 401
    assert wrong.json() == CLIENT_FAILED
    assert wrong.headers["www-authenticate"].startswith("Basic ")
    assert "active" not in wrong.text


def test_introspection_without_a_token_is_invalid_request(
        http: TestClient, demo: dict[str, Any]) -> None:
    response = http.post(INTROSPECT_PATH, content="", auth=auth(demo),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request",
                               "error_description": "'token' is required"}
