"""Control characters are refused at the edge, one test per entry point, on both databases:
a NUL that reached PostgreSQL (`text fields cannot contain NUL`) used to be a 500."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.models import Case
from fixtures.factories import CASES_PATH, INTROSPECT_PATH, SEED_BODY, TOKEN_PATH, get_token

V2_CASES = "/prweb/api/application/v2/cases"
CASETYPES = "/prweb/api/v1/casetypes"
AUTHORIZE = "/prweb/PRRestService/oauth2/v1/authorize"
USERINFO = "/prweb/PRRestService/oauth2/v1/userinfo"
CONTROLS = ("%00", "a%00b", "%01", "%0A", "%1F", "%7F")


def pega_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["pxObjClass"] == "Pega-API"
    assert body["errors"][0]["ID"] == "Pega_API_InvalidRequest"


def oauth_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.fixture
def auth(http: TestClient, demo: dict[str, Any]) -> dict[str, str]:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def case_id(http: TestClient, auth: dict[str, str]) -> str:
    created = http.post(CASES_PATH, json=SEED_BODY, headers=auth)
    assert created.status_code == 201, created.text
    return str(created.json()["ID"])


@pytest.fixture
def unchanged(db: sessionmaker[Session], case_id: str) -> Iterator[None]:
    """Nothing written by any refused request."""
    def state() -> list[tuple[str, int]]:
        with db() as session:
            return [(c.id, c.version) for c in session.scalars(select(Case))]
    before = state()
    yield
    assert state() == before


def test_case_list_query(http: TestClient, auth: dict[str, str]) -> None:
    for name in ("status", "caseTypeID", "page", "other"):
        for value in CONTROLS:
            pega_400(http.get(f"{CASES_PATH}?{name}={value}", headers=auth))
    # the same query without one is answered (so the refusal is about the character)
    assert http.get(f"{CASES_PATH}?status=New", headers=auth).status_code == 200


def test_case_path_v1(http: TestClient, auth: dict[str, str], case_id: str) -> None:
    for value in CONTROLS:
        pega_400(http.get(f"{CASES_PATH}/{case_id}{value}", headers=auth))
        pega_400(http.get(f"{CASES_PATH}/{value}", headers=auth))
    assert http.get(f"{CASES_PATH}/{case_id}", headers=auth).status_code == 200


def test_case_update(http: TestClient, auth: dict[str, str], case_id: str,
                     unchanged: None) -> None:
    tag = http.get(f"{CASES_PATH}/{case_id}", headers=auth).headers["etag"]
    body = {"content": {"RequestDetail": "x"}}
    for value in CONTROLS:
        pega_400(http.put(f"{CASES_PATH}/{case_id}{value}", json=body,
                          headers=auth | {"If-Match": tag}))
    for header in ("\x00", tag + "\x01", "\x7f"):
        pega_400(http.put(f"{CASES_PATH}/{case_id}", json=body,
                          headers=auth | {"If-Match": header}))


def test_case_path_v2(http: TestClient, auth: dict[str, str], case_id: str) -> None:
    for value in CONTROLS:
        pega_400(http.get(f"{V2_CASES}/{case_id}{value}", headers=auth))
    assert http.get(f"{V2_CASES}/{case_id}", headers=auth).status_code == 200


@pytest.mark.parametrize("path", [CASES_PATH, V2_CASES])
def test_case_create_json_names(http: TestClient, db: sessionmaker[Session],
                                auth: dict[str, str], path: str) -> None:
    with db() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    for char in ("\x00", "\x01", "\n", "\x7f"):
        for field in ("caseTypeID", "processID", "parentCaseID"):
            pega_400(http.post(path, json=SEED_BODY | {field: f"a{char}b"}, headers=auth))
        # the same through the query string, which the fast path never answers
        pega_400(http.post(f"{path}?x=a{quote(char)}", json=SEED_BODY, headers=auth))
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before


def test_case_types_query(http: TestClient, auth: dict[str, str]) -> None:
    for value in CONTROLS:
        pega_400(http.get(f"{CASETYPES}?x={value}", headers=auth))
    assert http.get(CASETYPES, headers=auth).status_code == 200


def test_any_header_on_the_api(http: TestClient, auth: dict[str, str]) -> None:
    for header in ("X-Anything", "User-Agent", "Accept"):
        pega_400(http.get(CASES_PATH, headers=auth | {header: "a\x00b"}))
    # a tab is whitespace in HTTP (RFC 9110 §5.5), not a control to refuse
    assert http.get(CASES_PATH, headers=auth | {"X-Anything": "a\tb"}).status_code == 200


def test_token_endpoint(http: TestClient, demo: dict[str, Any]) -> None:
    credentials = (demo["client_id"], demo["client_secret"])
    grant = {"grant_type": "client_credentials"}
    for value in CONTROLS:
        oauth_400(http.post(f"{TOKEN_PATH}?x={value}", data=grant, auth=credentials))
        oauth_400(http.post(TOKEN_PATH, content=f"grant_type=client_credentials&scope={value}",
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                            auth=credentials))
    oauth_400(http.post(TOKEN_PATH, data=grant, auth=credentials,
                        headers={"X-Anything": "\x01"}))


def test_introspection(http: TestClient, demo: dict[str, Any],
                       auth: dict[str, str]) -> None:
    credentials = (demo["client_id"], demo["client_secret"])
    token = auth["Authorization"].split()[1]
    for value in CONTROLS:
        oauth_400(http.post(f"{INTROSPECT_PATH}?x={value}", data={"token": token},
                            auth=credentials))
        oauth_400(http.post(INTROSPECT_PATH, content=f"token={token}{value}",
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                            auth=credentials))
    answer = http.post(INTROSPECT_PATH, data={"token": token}, auth=credentials)
    assert answer.json()["active"] is True


def test_authorization_endpoint(http: TestClient, demo: dict[str, Any]) -> None:
    for value in CONTROLS:
        response = http.get(f"{AUTHORIZE}?response_type=code&client_id={demo['client_id']}"
                            f"&state={value}", follow_redirects=False)
        oauth_400(response)


def test_userinfo(http: TestClient, auth: dict[str, str]) -> None:
    oauth_400(http.get(USERINFO, headers={"Authorization": "Bearer a\x00b"}))
    oauth_400(http.get(f"{USERINFO}?x=%00", headers=auth))


def test_health_and_metadata(http: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/.well-known/oauth-authorization-server"):
        oauth_400(http.get(f"{path}?x=%00"))
        assert http.get(path).status_code == 200


def test_case_content_is_data_kept_exactly(http: TestClient, auth: dict[str, str]) -> None:
    """Content is never used in a query: a NUL there is stored and answered as sent (the
    column is JSON text on both databases), not refused and never a 500."""
    content = {"a\x00": "x\x00y", "line": "one\ntwo"}
    created = http.post(CASES_PATH, json=SEED_BODY | {"content": content}, headers=auth)
    assert created.status_code == 201, created.text
    got = http.get(f"{CASES_PATH}/{created.json()['ID']}", headers=auth)
    assert got.json()["content"] == content
