"""One reading of the Authorization header everywhere: the case API (v1 and v2, the fast path
of POST /cases too), userinfo, and client authentication at the token, revocation and
introspection endpoints agree on two headers, on `Bearer a b` and on the scheme's case."""

import base64
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.oauth import auth_header
from casegate.storage.models import AuditEvent, Case
from fixtures.factories import (
    CASES_PATH,
    INTROSPECT_PATH,
    REVOKE_PATH,
    SEED_BODY,
    TOKEN_PATH,
    get_token,
)

USERINFO_PATH = "/prweb/PRRestService/oauth2/v1/userinfo"
V2_CASES = "/prweb/api/application/v2/cases"
Headers = list[tuple[str, str]]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def count_cases(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
def tokens(http: TestClient, demo: dict[str, Any]) -> tuple[str, str]:
    """(a valid token, a revoked one) of the demo client."""
    valid, revoked = (get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
                      for _ in range(2))
    response = http.post(REVOKE_PATH, data={"token": revoked},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200
    return valid, revoked


def api_calls(http: TestClient, case_id: str, headers: Headers) -> list[httpx.Response]:
    return [http.post(CASES_PATH, json=SEED_BODY, headers=headers),
            http.get(f"{CASES_PATH}/{case_id}", headers=headers),
            http.get(CASES_PATH, headers=headers),
            http.post(V2_CASES, json=SEED_BODY, headers=headers),
            http.get(f"{V2_CASES}/{case_id}", headers=headers)]


@pytest.fixture
def case_id(http: TestClient, tokens: tuple[str, str]) -> str:
    created = http.post(CASES_PATH, json=SEED_BODY, headers={"Authorization": f"Bearer {tokens[0]}"})
    assert created.status_code == 201, created.text
    return str(created.json()["ID"])


def test_the_case_api_refuses_two_authorization_headers(
        http: TestClient, db: sessionmaker[Session], tokens: tuple[str, str],
        case_id: str) -> None:
    valid, revoked = tokens
    before = count_cases(db)
    for pair in ((valid, valid), (valid, revoked), (revoked, valid)):
        headers = [("Authorization", f"Bearer {pair[0]}"), ("Authorization", f"Bearer {pair[1]}")]
        for response in api_calls(http, case_id, headers):
            assert response.status_code == 400, response.text
            assert response.json()["errors"][0]["ID"] == "Pega_API_InvalidRequest"
            assert 'error="invalid_request"' in response.headers["www-authenticate"]
    assert count_cases(db) == before  # nothing was created, by the fast path or the route


def test_userinfo_refuses_two_authorization_headers(
        http: TestClient, tokens: tuple[str, str]) -> None:
    valid, revoked = tokens
    for method in ("GET", "POST"):
        response = http.request(method, USERINFO_PATH, headers=[
            ("Authorization", f"Bearer {valid}"), ("Authorization", f"Bearer {revoked}")])
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", [TOKEN_PATH, INTROSPECT_PATH, REVOKE_PATH])
def test_client_authentication_refuses_two_authorization_headers(
        http: TestClient, db: sessionmaker[Session], demo: dict[str, Any],
        tokens: tuple[str, str], path: str) -> None:
    good = basic(demo["client_id"], demo["client_secret"])
    form = ({"grant_type": "client_credentials"} if path == TOKEN_PATH
            else {"token": tokens[0]})
    for second in (good, basic(demo["client_id"], "wrong"), "Bearer x"):
        response = http.post(path, data=form, headers=[("Authorization", good),
                                                       ("Authorization", second)])
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
        assert response.headers["cache-control"] == "no-store"
    # the token was not revoked by the refused request
    assert http.get(CASES_PATH, headers={"Authorization": f"Bearer {tokens[0]}"}).status_code == 200
    if path == TOKEN_PATH:  # and the refusal is audited as one, not as an issued token
        http.app.state.runtime.audit.flush()  # type: ignore[attr-defined]
        with db() as session:
            refused = session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.event == "token.refused"))
        assert refused


def test_api_and_userinfo_agree_on_a_malformed_bearer_header(
        http: TestClient, case_id: str) -> None:
    for value in ("Bearer", "Bearer ", "Bearer a b", "Bearer a.b.c d", "Bearer a,b"):
        headers = [("Authorization", value)]
        for response in [*api_calls(http, case_id, headers),
                         http.get(USERINFO_PATH, headers=headers)]:
            assert response.status_code == 401, (value, response.text)
            assert 'error="invalid_token"' in response.headers["www-authenticate"], value


def test_api_and_userinfo_agree_on_the_scheme_in_any_case(
        http: TestClient, db: sessionmaker[Session], tokens: tuple[str, str],
        case_id: str) -> None:
    valid = tokens[0]
    for scheme in ("bearer", "BEARER", "bEaReR"):
        headers = [("Authorization", f"{scheme} {valid}")]
        before = count_cases(db)
        statuses = [r.status_code for r in api_calls(http, case_id, headers)]
        assert statuses == [201, 200, 200, 201, 200], scheme
        assert count_cases(db) == before + 2
        # accepted as a token (the demo client's lacks `openid`), not refused as absent
        response = http.get(USERINFO_PATH, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "insufficient_scope"


def test_the_parser_itself() -> None:
    def raw(*values: str) -> list[tuple[bytes, bytes]]:
        return [(b"authorization", v.encode()) for v in values] + [(b"host", b"x")]

    assert auth_header.bearer_token(raw()) is None
    assert auth_header.bearer_token(raw("Basic abc")) is None
    assert auth_header.bearer_token(raw("BEARER  ab.c-_~+/==")) == "ab.c-_~+/=="
    assert auth_header.authorization(raw("Basic QQ==")) == ("basic", "QQ==")
    for bad in ("Bearer", "Bearer a b", "Bearer =a", "Bearer a\tb", "Bearer é"):
        with pytest.raises(auth_header.Malformed):
            auth_header.bearer_token(raw(bad))
    with pytest.raises(auth_header.Repeated):
        auth_header.bearer_token(raw("Bearer a", "Bearer a"))
    with pytest.raises(auth_header.Repeated):  # header names are case-insensitive
        auth_header.authorization([(b"Authorization", b"Basic a"), (b"authorization", b"x")])
