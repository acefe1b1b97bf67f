"""Token scopes at the case API (RFC 6750 §3.1 insufficient_scope) and the issued scope:
asked ∩ what the client may ask ∩ what the access group allows (SECURITY Decision 4)."""

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from cases.case_api import (
    CASETYPES_PATH,
    CREATE,
    GET,
    TYPES,
    UPDATE,
    V2_CASES_PATH,
    act_as,
    created_id,
    demo_caller,
    pega_error,
)
from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH, bearer, get_token, make_group

EVERYTHING = [CREATE, GET, UPDATE, TYPES]


def assert_insufficient_scope(response: httpx.Response, scope: str) -> None:
    pega_error(response, 403)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    # RFC 6750 §3: the scope the resource needs
    assert f'scope="{scope}"' in challenge


def test_token_scoped_to_casetypes_cannot_reach_cases(http: TestClient,
                                                      demo: dict[str, Any]) -> None:
    case_id = created_id(demo_caller(http, demo).create(SEED_BODY))
    answer = get_token(http, demo["client_id"], demo["client_secret"], scope="casetypes")
    assert answer["scope"] == "casetypes"
    headers = bearer(answer["access_token"])

    assert_insufficient_scope(http.post(CASES_PATH, json=SEED_BODY, headers=headers), "cases")
    assert_insufficient_scope(http.get(CASES_PATH, headers=headers), "cases")
    assert_insufficient_scope(http.get(f"{CASES_PATH}/{case_id}", headers=headers), "cases")
    assert_insufficient_scope(
        http.put(f"{CASES_PATH}/{case_id}", json={"content": {"A": 1}},
                 headers=headers | {"If-Match": '"1"'}), "cases")
    assert_insufficient_scope(http.post(V2_CASES_PATH, json=SEED_BODY, headers=headers), "cases")
    assert_insufficient_scope(http.get(f"{V2_CASES_PATH}/{case_id}", headers=headers), "cases")
    assert http.get(CASETYPES_PATH, headers=headers).status_code == 200
    # nothing was created by the refused calls
    assert demo_caller(http, demo).get(CASES_PATH).json()["total"] == 1


def test_token_scoped_to_cases_cannot_list_case_types(http: TestClient,
                                                      demo: dict[str, Any]) -> None:
    answer = get_token(http, demo["client_id"], demo["client_secret"], scope="cases")
    assert answer["scope"] == "cases"
    headers = bearer(answer["access_token"])
    assert_insufficient_scope(http.get(CASETYPES_PATH, headers=headers), "casetypes")
    assert http.post(CASES_PATH, json=SEED_BODY, headers=headers).status_code == 201
    assert http.post(V2_CASES_PATH, json=SEED_BODY, headers=headers).status_code == 201


def token_request(http: TestClient, client_id: str, secret: str,
                  scope: str | None) -> httpx.Response:
    form = {"grant_type": "client_credentials"} | ({} if scope is None else {"scope": scope})
    return http.post(TOKEN_PATH, data=form, auth=(client_id, secret))


def test_issued_scope_is_asked_and_client_and_group_allow(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    # the group allows cases and reports; the client may ask for cases and casetypes
    group = make_group(db, EVERYTHING, ["cases", "reports"])
    caller = act_as(http, db, settings, group, client_scopes=["cases", "casetypes"])
    assert caller.scope == "cases"  # nothing asked: what both allow

    for asked in ("cases casetypes reports", "cases reports", "casetypes cases"):
        response = token_request(http, caller.client_id, caller.secret, asked)
        assert response.status_code == 200, (asked, response.text)
        assert response.json()["scope"] == "cases"

    # nothing is left of an explicit ask: invalid_scope (RFC 6749 §5.2)
    for asked in ("casetypes", "reports", "casetypes reports"):
        response = token_request(http, caller.client_id, caller.secret, asked)
        assert response.status_code == 400, asked
        assert response.json()["error"] == "invalid_scope"
        assert response.headers["Cache-Control"] == "no-store"

    # the token carries only what was issued: the group's privileges do not widen it
    headers = bearer(caller.token)
    assert_insufficient_scope(http.get(CASETYPES_PATH, headers=headers), "casetypes")


def test_group_without_the_cases_scope_cannot_create_despite_pxcreatecase(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    caller = act_as(http, db, settings, make_group(db, EVERYTHING, ["casetypes"]))
    assert caller.scope == "casetypes"
    assert_insufficient_scope(caller.create(SEED_BODY), "cases")
    assert token_request(http, caller.client_id, caller.secret,
                         "cases").json()["error"] == "invalid_scope"
