"""GET, POST /prweb/api/oauth2/v1/token/denylist: an administrator's token only; a denied
token or jti fails at the next request."""

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN_GROUP
from casegate.settings import Settings
from fixtures.factories import (
    CASES_PATH,
    SEED_BODY,
    bearer,
    get_token,
    make_operator,
    make_registration,
)

DENYLIST = "/prweb/api/oauth2/v1/token/denylist"


def admin_token(http: TestClient, db: sessionmaker[Session], settings: Settings,
                scopes: list[str] | None = None) -> str:
    """A token of a client acting as a service operator in the administrators' group."""
    operator = make_operator(db, kind="service", group=ADMIN_GROUP)
    client, secret = make_registration(db, settings, operator=operator, scopes=scopes)
    return str(get_token(http, client.client_id, secret)["access_token"])


def test_an_administrators_token_denies_a_token_and_a_jti(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    admin = admin_token(http, db, settings)
    victim = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(victim)).status_code == 201
    added = http.post(DENYLIST, json={"token": victim, "reason": "leaked"},
                      headers=bearer(admin))
    assert added.status_code == 201, added.text
    assert added.json()["client_id"] == demo["client_id"] and added.json()["reason"] == "leaked"
    refused = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(victim))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    jti = f"jti-{uuid.uuid4().hex}"
    assert http.post(DENYLIST, json={"token": jti, "reason": "seen twice"},
                     headers=bearer(admin)).status_code == 201
    listed = http.get(DENYLIST, headers=bearer(admin))
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    entries = {e["jti"]: e for e in listed.json()["tokens"]}
    assert entries[jti]["reason"] == "seen twice"
    assert entries[jti]["by"] and entries[jti]["by"] != ""
    assert added.json()["jti"] in entries


def test_another_operators_token_gets_403_in_the_pega_envelope(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    for answer in (http.get(DENYLIST, headers=bearer(token)),
                   http.post(DENYLIST, json={"token": "x", "reason": "y"},
                             headers=bearer(token))):
        assert answer.status_code == 403
        body = answer.json()
        assert body["pxObjClass"] == "Pega-API"
        assert body["errors"][0]["ID"] == "Pega_API_Forbidden"


def test_an_administrators_token_without_the_admin_scope_gets_403(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    token = admin_token(http, db, settings, scopes=["cases"])
    answer = http.get(DENYLIST, headers=bearer(token))
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]


def test_no_token_bad_token_and_bad_body(http: TestClient, db: sessionmaker[Session],
                                         settings: Settings) -> None:
    assert http.get(DENYLIST).status_code == 401
    assert http.get(DENYLIST, headers=bearer("not.a.token")).status_code == 401
    admin = admin_token(http, db, settings)
    for body in ({"token": "x"}, {"token": "x", "reason": ""}, {"token": "a b", "reason": "r"},
                 {"token": "x.y.z", "reason": "r"}, {"token": "x", "reason": "r", "more": 1}):
        answer = http.post(DENYLIST, json=body, headers=bearer(admin))
        assert answer.status_code == 400, body
        assert answer.json()["pxObjClass"] == "Pega-API"
