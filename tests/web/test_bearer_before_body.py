"""Every bearer route checks the token, then its scope, and only then reads the body: a caller
without a valid token gets 401 and one whose token lacks the scope 403 insufficient_scope
(RFC 6750 §3.1), whatever it sent (JSON that does not parse, a body that is not JSON, the wrong
fields, a bad query); only a caller with the scope learns what is wrong with its body (400).
Userinfo refuses a token without `openid` the same way, in RFC 6750's JSON (OpenID Connect
Core §5.3.3). Over HTTPS, to a served casegate (its fast front of POST /cases included), on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory
from fixtures.factories import (
    CASES_PATH,
    SEED_BODY,
    bearer,
    get_token,
    make_operator,
    make_registration,
)
from fixtures.served import Served

V2_CASES = "/prweb/api/application/v2/cases"
DENYLIST = "/prweb/api/oauth2/v1/token/denylist"
USERINFO = "/prweb/PRRestService/oauth2/v1/userinfo"
ADMINISTRATORS = "casegate:Administrators"  # the group `casegate init` makes

# bodies of every kind of wrong, each with the Content-Type it is sent with
JSON = "application/json"
BODIES = {
    "JSON that does not parse": (b"{not json", JSON),
    "bytes that are not UTF-8": (b'{"caseTypeID": "\xff"}', JSON),
    "an empty body": (b"", JSON),
    "not JSON at all": (b"caseTypeID=x", "application/x-www-form-urlencoded"),
    "plain text": (b"hello", "text/plain"),
    "the wrong fields": (b'{"surprise": 1}', JSON),
    "a list": (b"[1, 2]", JSON),
}


@dataclass
class Tokens:
    cases: str  # the demo client's, with `cases casetypes`
    casetypes: str  # the demo client's, with `casetypes` only
    admin: str  # a service operator of the administrators' group, with `casegate:admin`
    case_id: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("bearer-first") / "home", module_database_url)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(served: Served) -> Iterator[httpx.Client]:
    with served.client() as client:
        yield client


@pytest.fixture(scope="module")
def tokens(served: Served, http: httpx.Client) -> Tokens:
    demo = served.demo
    engine = make_engine(served.env["CASEGATE_DATABASE_URL"])
    try:
        db = session_factory(engine)
        settings = Settings(home=served.home, database_url=served.env["CASEGATE_DATABASE_URL"])
        admin, secret = make_registration(db, settings,
                                          operator=make_operator(db, group=ADMINISTRATORS))
    finally:
        engine.dispose()
    cases = get_token(http, demo["client_id"], demo["client_secret"],
                      scope="cases casetypes")["access_token"]
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(cases))
    assert created.status_code == 201, created.text
    return Tokens(
        cases=cases,
        casetypes=get_token(http, demo["client_id"], demo["client_secret"],
                            scope="casetypes")["access_token"],
        admin=get_token(http, admin.client_id, secret,
                        scope="casegate:admin")["access_token"],
        case_id=created.json()["ID"])


def send(http: httpx.Client, method: str, path: str, body: bytes, content_type: str,
         token: str | None) -> httpx.Response:
    headers = {"Content-Type": content_type} | (bearer(token) if token else {})
    if method == "PUT":
        headers["If-Match"] = '"1"'
    return http.request(method, path, content=body, headers=headers)


def routes(tokens: Tokens) -> list[tuple[str, str, str, str]]:
    """(method, path, the scope it needs, a token with that scope) of each route with a body."""
    return [("POST", CASES_PATH, "cases", tokens.cases),
            ("PUT", f"{CASES_PATH}/{tokens.case_id}", "cases", tokens.cases),
            ("POST", V2_CASES, "cases", tokens.cases),
            ("POST", DENYLIST, "casegate:admin", tokens.admin)]


def pega(response: httpx.Response, status: int, error_id: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["pxObjClass"] == "Pega-API"
    assert [e["ID"] for e in body["errors"]] == [error_id]
    message: str = body["errors"][0]["message"]
    return message


CALLERS = ["no token", "an invalid token", "a token without the scope", "a token with it"]


def token_of(caller: str, scope: str, tokens: Tokens, with_scope: str) -> str | None:
    if caller == "no token":
        return None
    if caller == "an invalid token":
        return "abc.def.ghi"
    if caller == "a token without the scope":  # `casetypes` only; the deny list: `cases`
        return tokens.casetypes if scope == "cases" else tokens.cases
    return with_scope


def expected(caller: str, scope: str) -> tuple[int, str, str | None]:
    """The status, Pega's error ID and the WWW-Authenticate header (RFC 6750 §3.1)."""
    return {
        "no token": (401, "Pega_API_Unauthorized", 'Bearer realm="casegate"'),
        "an invalid token": (401, "Pega_API_Unauthorized", 'Bearer realm="casegate", '
                             'error="invalid_token", error_description="the access token '
                             'is invalid"'),
        "a token without the scope": (403, "Pega_API_Forbidden", 'Bearer realm="casegate", '
                                      f'error="insufficient_scope", scope="{scope}"'),
        # only a caller with the scope learns what is wrong with its body
        "a token with it": (400, "Pega_API_InvalidRequest", None),
    }[caller]


@pytest.mark.parametrize("kind", list(BODIES))
@pytest.mark.parametrize("caller", CALLERS)
def test_the_token_then_its_scope_then_the_body(http: httpx.Client, tokens: Tokens,
                                                caller: str, kind: str) -> None:
    body, content_type = BODIES[kind]
    for method, path, scope, with_scope in routes(tokens):
        response = send(http, method, path, body, content_type,
                        token_of(caller, scope, tokens, with_scope))
        status, error_id, challenge = expected(caller, scope)
        message = pega(response, status, error_id)
        assert response.headers.get("WWW-Authenticate") == challenge, (method, path)
        if status == 403:
            assert message == f"the access token lacks the scope {scope}"
        if caller == "no token":
            assert message == "an access token is required"


def test_the_scope_comes_before_the_query_too(http: httpx.Client, tokens: Tokens) -> None:
    for query in ("page=0", "pageSize=100000", "page=x"):
        without = http.get(f"{CASES_PATH}?{query}", headers=bearer(tokens.casetypes))
        pega(without, 403, "Pega_API_Forbidden")
        assert 'error="insufficient_scope", scope="cases"' in without.headers["WWW-Authenticate"]
        pega(http.get(f"{CASES_PATH}?{query}", headers=bearer(tokens.cases)), 400,
             "Pega_API_InvalidRequest")


def test_nothing_was_created_by_the_refused_requests(http: httpx.Client, tokens: Tokens) -> None:
    for kind in BODIES:  # the refusals of the other tests, once more, then the count
        body, content_type = BODIES[kind]
        for method, path, _, _ in routes(tokens):
            assert send(http, method, path, body, content_type, tokens.casetypes
                        ).status_code == 403
    listed = http.get(CASES_PATH, headers=bearer(tokens.cases))
    assert listed.status_code == 200
    assert listed.json()["total"] == 1  # the one case the fixture made
    denied = http.get(DENYLIST, headers=bearer(tokens.admin))
    assert denied.status_code == 200
    assert denied.json()["tokens"] == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_refuses_a_token_without_openid_as_rfc_6750_says(
        http: httpx.Client, tokens: Tokens, method: str) -> None:
    for body, content_type in [(b"", "application/x-www-form-urlencoded"), *BODIES.values()]:
        response = send(http, method, USERINFO, body, content_type, tokens.cases)
        assert response.status_code == 403, response.text
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="casegate", error="insufficient_scope", scope="openid"')
        assert response.headers["Cache-Control"] == "no-store"
        # OpenID Connect Core §5.3.3: RFC 6750's error, never Pega's envelope
        assert response.json() == {"error": "insufficient_scope",
                                   "error_description": "the access token lacks the scope openid"}


def test_userinfo_refuses_no_token_and_an_invalid_one_as_the_api_does(
        http: httpx.Client) -> None:
    none = http.get(USERINFO)
    assert none.status_code == 401
    assert none.headers["WWW-Authenticate"] == 'Bearer realm="casegate"'
    assert none.headers["Cache-Control"] == "no-store"
    assert none.json()["error"] == "invalid_request"
    invalid = http.get(USERINFO, headers=bearer("abc.def.ghi"))
    assert invalid.status_code == 401
    assert invalid.headers["WWW-Authenticate"] == (
        'Bearer realm="casegate", error="invalid_token", '
        'error_description="the access token is invalid"')
    assert invalid.json() == {"error": "invalid_token",
                              "error_description": "the access token is invalid"}
