"""RFC 7009 token revocation, with SECURITY Decision 5 for another client's token."""

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from fixtures.factories import (
    CASES_PATH,
    INTROSPECT_PATH,
    REVOKE_PATH,
    SEED_BODY,
    bearer,
    get_token,
    make_registration,
)

CLIENT_FAILED = {"error": "invalid_client", "error_description": "client authentication failed"}


def auth(demo: dict[str, Any]) -> tuple[str, str]:
    return demo["client_id"], demo["client_secret"]


def demo_token(http: TestClient, demo: dict[str, Any]) -> str:
    token: str = get_token(http, *auth(demo))["access_token"]
    return token


def api_status(http: TestClient, token: str) -> int:
    return http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code


def introspect(http: TestClient, demo: dict[str, Any], token: str) -> dict[str, Any]:
    response = http.post(INTROSPECT_PATH, data={"token": token}, auth=auth(demo))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def revoke(http: TestClient, demo: dict[str, Any], **form: str) -> httpx.Response:
    return http.post(REVOKE_PATH, data=form, auth=auth(demo))


def test_revoking_own_token_answers_200_and_the_token_is_dead_everywhere(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = demo_token(http, demo)
    assert api_status(http, token) == 201
    assert introspect(http, demo, token)["active"] is True
    response = revoke(http, demo, token=token)
    assert response.status_code == 200
    assert api_status(http, token) == 401
    assert introspect(http, demo, token) == {"active": False}


def test_revoking_by_client_secret_post_leaves_the_clients_other_tokens_working(
        http: TestClient, demo: dict[str, Any]) -> None:
    first, second = demo_token(http, demo), demo_token(http, demo)
    by_post = http.post(REVOKE_PATH, data={"token": first, "client_id": demo["client_id"],
                                           "client_secret": demo["client_secret"]})
    assert by_post.status_code == 200
    assert api_status(http, first) == 401
    assert api_status(http, second) == 201


def test_unknown_or_garbage_token_answers_200(http: TestClient, demo: dict[str, Any]) -> None:
    # RFC 7009 §2.2: invalid tokens do not cause an error response
    for token in ("garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"):
        assert revoke(http, demo, token=token).status_code == 200, token


def test_unknown_token_type_hint_is_ignored_and_the_token_revoked(
        http: TestClient, demo: dict[str, Any]) -> None:
    # RFC 7009 §2.1: the server extends its search beyond the hint (SECURITY Decision 5)
    for hint in ("no_such_hint", "refresh_token", "access_token"):
        token = demo_token(http, demo)
        response = revoke(http, demo, token=token, token_type_hint=hint)
        assert response.status_code == 200, (hint, response.text)
        assert api_status(http, token) == 401, hint


def test_another_clients_token_is_refused_with_invalid_grant_and_stays_valid(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    token = demo_token(http, demo)
    other, other_secret = make_registration(db, settings)
    response = http.post(REVOKE_PATH, data={"token": token},
                         auth=(other.client_id, other_secret))
    # RFC 7009 §2.1 and SECURITY Decision 5
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "grant request is invalid"}
    assert response.headers["cache-control"] == "no-store"
    assert api_status(http, token) == 201
    assert introspect(http, demo, token)["active"] is True


def test_revocation_without_or_with_wrong_client_credentials_is_invalid_client(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = demo_token(http, demo)
    anonymous = http.post(REVOKE_PATH, data={"token": token})
    assert anonymous.status_code == 401
    assert anonymous.json() == CLIENT_FAILED
    # RFC 9110 §15.5.2: every 401 carries a challenge
    assert anonymous.headers["www-authenticate"].startswith("Basic ")
    wrong = http.post(REVOKE_PATH, data={"token": token}, auth=(demo["client_id"], "wrong"))
    assert wrong.status_code == 401
    assert wrong.json() == CLIENT_FAILED
    # RFC 6749 §5.2: Basic was tried, so the 401 challenges for Basic
    assert wrong.headers["www-authenticate"].startswith("Basic ")
    assert api_status(http, token) == 201


def test_revocation_without_a_token_is_invalid_request(
        http: TestClient, demo: dict[str, Any]) -> None:
    empty = http.post(REVOKE_PATH, content="", auth=auth(demo),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    for response in (empty, revoke(http, demo, token=""),
                     revoke(http, demo, token_type_hint="access_token")):
        assert response.status_code == 400, response.request.content
        assert response.json() == {"error": "invalid_request",
                                   "error_description": "'token' is required"}
        assert response.headers["cache-control"] == "no-store"


def test_token_in_the_revocation_url_is_refused(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = demo_token(http, demo)
    response = http.post(REVOKE_PATH, params={"token": token}, data={}, auth=auth(demo))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_revoking_twice_answers_200_both_times(http: TestClient, demo: dict[str, Any]) -> None:
    token = demo_token(http, demo)
    assert revoke(http, demo, token=token).status_code == 200
    assert revoke(http, demo, token=token).status_code == 200
    assert api_status(http, token) == 401
