"""RFC 6749 §5.1/§5.2 at the token endpoint: every refusal, its status, body and headers.

Statuses: §5.2 says 400 for every error but `invalid_client`, which is 401 when the
client used the Authorization header (and then MUST carry a `WWW-Authenticate` challenge
for the scheme it used, here Basic); casegate answers 401 for every `invalid_client`, and
every 401 carries the Basic challenge (RFC 9110 §15.5.2).
Responses with tokens or errors carry `Cache-Control: no-store` (§5.1).
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import operators
from casegate.clients import service as clients
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import ClientRegistration
from fixtures.factories import TOKEN_PATH, make_group, make_operator, make_registration

GRANT = {"grant_type": "client_credentials"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}

# RFC 6749 §2.3.1 lets a server say no more than "client authentication failed": an unknown
# client, a wrong secret and a disabled client must be indistinguishable to the caller
CLIENT_FAILED = {"error": "invalid_client", "error_description": "client authentication failed"}


@dataclass
class Ctx:
    http: TestClient
    db: sessionmaker[Session]
    settings: Settings
    demo: dict[str, Any]

    @property
    def auth(self) -> tuple[str, str]:
        return self.demo["client_id"], self.demo["client_secret"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@dataclass(frozen=True)
class Case:
    send: Callable[[Ctx], httpx.Response]
    status: int
    body: dict[str, str]


def no_grant_type(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data={"scope": "cases"}, auth=c.auth)


def empty_grant_type(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data={"grant_type": ""}, auth=c.auth)


def unknown_grant_type(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data={"grant_type": "urn:x:<b>EchoMe</b>"}, auth=c.auth)


def wrong_secret_basic(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT, auth=(c.demo["client_id"], "wrong-secret"))


def wrong_secret_post(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"client_id": c.demo["client_id"],
                                                 "client_secret": "wrong-secret"})


def unknown_client_basic(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT, auth=("10000000000000000001", "wrong-secret"))


def unknown_client_post(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"client_id": "10000000000000000001",
                                                 "client_secret": "wrong-secret"})


def basic_and_post_at_once(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"client_secret": c.demo["client_secret"]},
                       auth=c.auth)


def client_id_differs_from_basic(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"client_id": "10000000000000000001"},
                       auth=c.auth)


def no_credentials(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT)


def client_id_without_secret(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"client_id": c.demo["client_id"]})


def grant_not_allowed(c: Ctx) -> httpx.Response:
    registration, secret = make_registration(c.db, c.settings)
    with transaction(c.db) as session:
        row = session.get(ClientRegistration, registration.client_id)
        assert row is not None
        row.grant_types = ["authorization_code"]  # client_credentials taken away
    return c.http.post(TOKEN_PATH, data=GRANT, auth=(registration.client_id, secret))


def disabled_client(c: Ctx) -> httpx.Response:
    with transaction(c.db) as session:
        clients.set_enabled(session, c.demo["client_id"], False)
    return c.http.post(TOKEN_PATH, data=GRANT, auth=c.auth)


def disabled_operator(c: Ctx) -> httpx.Response:
    with transaction(c.db) as session:
        operators.set_enabled(session, c.demo["operator"], False)
    return c.http.post(TOKEN_PATH, data=GRANT, auth=c.auth)


def unknown_scope(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"scope": "cases nosuchscope"}, auth=c.auth)


def empty_scope(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT | {"scope": ""}, auth=c.auth)


def scope_not_allowed_for_client(c: Ctx) -> httpx.Response:
    # "casetypes" is known (the demo access group has it), but this client may only ask "cases"
    registration, secret = make_registration(c.db, c.settings, scopes=["cases"])
    return c.http.post(TOKEN_PATH, data=GRANT | {"scope": "casetypes"},
                       auth=(registration.client_id, secret))


def scope_not_in_access_group(c: Ctx) -> httpx.Response:
    # the operator's access group only allows "cases"
    group = make_group(c.db, ["pxCreateCase"], ["cases"])
    registration, secret = make_registration(c.db, c.settings,
                                             operator=make_operator(c.db, group=group))
    return c.http.post(TOKEN_PATH, data=GRANT | {"scope": "casetypes"},
                       auth=(registration.client_id, secret))


def json_body(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, json=GRANT, auth=c.auth)


def multipart_body(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT, files={"f": ("f.txt", b"x")}, auth=c.auth)


def repeated_grant_type(c: Ctx) -> httpx.Response:
    body = "grant_type=client_credentials&grant_type=client_credentials"
    return c.http.post(TOKEN_PATH, content=body, headers=FORM_TYPE, auth=c.auth)


def repeated_scope(c: Ctx) -> httpx.Response:
    body = "grant_type=client_credentials&scope=cases&scope=casetypes"
    return c.http.post(TOKEN_PATH, content=body, headers=FORM_TYPE, auth=c.auth)


def secret_in_query(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, params={"client_secret": c.demo["client_secret"]},
                       data=GRANT | {"client_id": c.demo["client_id"]})


def malformed_basic_not_base64(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT, headers={"Authorization": "Basic %%%not-b64"})


def malformed_basic_no_colon(c: Ctx) -> httpx.Response:
    raw = base64.b64encode(c.demo["client_id"].encode()).decode()
    return c.http.post(TOKEN_PATH, data=GRANT, headers={"Authorization": f"Basic {raw}"})


def not_basic_scheme(c: Ctx) -> httpx.Response:
    return c.http.post(TOKEN_PATH, data=GRANT, headers={"Authorization": "Bearer abc.def.ghi"})


def invalid_request(description: str) -> dict[str, str]:
    return {"error": "invalid_request", "error_description": description}


def invalid_scope(description: str) -> dict[str, str]:
    return {"error": "invalid_scope", "error_description": description}


NOT_FORM = invalid_request("the body must be application/x-www-form-urlencoded")

CASES = {
    "no_grant_type": Case(no_grant_type, 400, invalid_request("'grant_type' is required")),
    "empty_grant_type": Case(empty_grant_type, 400, invalid_request("'grant_type' is required")),
    "unknown_grant_type": Case(unknown_grant_type, 400,
                               {"error": "unsupported_grant_type",
                                "error_description": "the grant type is not supported"}),
    "wrong_secret_basic": Case(wrong_secret_basic, 401, CLIENT_FAILED),
    "wrong_secret_post": Case(wrong_secret_post, 401, CLIENT_FAILED),
    "unknown_client_basic": Case(unknown_client_basic, 401, CLIENT_FAILED),
    "unknown_client_post": Case(unknown_client_post, 401, CLIENT_FAILED),
    "basic_and_post_at_once": Case(
        basic_and_post_at_once, 400,
        invalid_request("use one client authentication method, not two")),
    "client_id_differs_from_basic": Case(
        client_id_differs_from_basic, 400,
        invalid_request("client_id differs from the Authorization header")),
    "no_credentials": Case(no_credentials, 401, CLIENT_FAILED),
    "client_id_without_secret": Case(client_id_without_secret, 401, CLIENT_FAILED),
    "grant_not_allowed": Case(grant_not_allowed, 400,
                              {"error": "unauthorized_client", "error_description":
                               "the client is not allowed to use this grant type"}),
    "disabled_client": Case(disabled_client, 401, CLIENT_FAILED),
    "disabled_operator": Case(disabled_operator, 400,
                              {"error": "invalid_grant",
                               "error_description": "grant request is invalid"}),
    "unknown_scope": Case(unknown_scope, 400, invalid_scope("unknown scope: nosuchscope")),
    "empty_scope": Case(empty_scope, 400, invalid_scope("scope is malformed")),
    "scope_not_allowed_for_client": Case(
        scope_not_allowed_for_client, 400,
        invalid_scope("none of the requested scopes is allowed")),
    "scope_not_in_access_group": Case(
        scope_not_in_access_group, 400,
        invalid_scope("none of the requested scopes is allowed")),
    "json_body": Case(json_body, 400, NOT_FORM),
    "multipart_body": Case(multipart_body, 400, NOT_FORM),
    "repeated_grant_type": Case(repeated_grant_type, 400,
                                invalid_request("parameter 'grant_type' is repeated")),
    "repeated_scope": Case(repeated_scope, 400,
                           invalid_request("parameter 'scope' is repeated")),
    "secret_in_query": Case(secret_in_query, 400, invalid_request(
        "'client_secret' must be sent in the body, not the URL")),
    "malformed_basic_not_base64": Case(malformed_basic_not_base64, 401, CLIENT_FAILED),
    "malformed_basic_no_colon": Case(malformed_basic_no_colon, 401, CLIENT_FAILED),
    "not_basic_scheme": Case(not_basic_scheme, 401, CLIENT_FAILED),
}


@pytest.mark.parametrize("name", list(CASES))
def test_token_endpoint_refusal_follows_rfc6749_error_table(
        name: str, http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    case = CASES[name]
    response = case.send(Ctx(http, db, settings, demo))
    assert response.status_code == case.status, response.text
    assert response.json() == case.body
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    challenge = response.headers.get("www-authenticate")
    if case.status == 401:
        assert challenge is not None and challenge.startswith("Basic ")
        assert 'realm="' in challenge
    else:
        assert challenge is None
    assert "access_token" not in response.text
    if name == "unknown_grant_type":  # the value sent is not echoed
        assert "EchoMe" not in response.text and "urn:x" not in response.text


def test_error_description_keeps_to_the_rfc6749_character_set(
        http: TestClient, demo: dict[str, Any]) -> None:
    # RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E, whatever was sent
    allowed = set(map(chr, range(0x20, 0x7F))) - {'"', "\\"}
    for scope in ("caf\u00e9", 'a"b', "a\\b", "cases\tcasetypes", "\u202e" * 3):
        response = http.post(TOKEN_PATH, data=GRANT | {"scope": scope},
                             auth=(demo["client_id"], demo["client_secret"]))
        assert response.status_code == 400, scope
        body = response.json()
        assert body["error"] == "invalid_scope", scope
        assert set(body["error_description"]) <= allowed, body


def test_unknown_client_and_wrong_secret_get_the_same_answer(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    c = Ctx(http, db, settings, demo)
    for wrong, unknown in ((wrong_secret_basic, unknown_client_basic),
                           (wrong_secret_post, unknown_client_post)):
        a, b = wrong(c), unknown(c)
        assert (a.status_code, a.content) == (b.status_code, b.content)
        assert a.headers.get("www-authenticate") == b.headers.get("www-authenticate")


# -- the happy path --------------------------------------------------------------------------

def assert_issued(response: httpx.Response, lifetime: int, scope: set[str]) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == lifetime
    assert set(body["scope"].split(" ")) == scope
    assert body["access_token"].count(".") == 2
    assert response.headers["cache-control"] == "no-store"
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_token_is_issued_with_the_registrations_lifetime_and_the_groups_scopes(
        method: str, http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    registration, secret = make_registration(db, settings, lifetime=120)
    if method == "client_secret_basic":
        response = http.post(TOKEN_PATH, data=GRANT, auth=(registration.client_id, secret))
    else:
        response = http.post(TOKEN_PATH, data=GRANT | {"client_id": registration.client_id,
                                                       "client_secret": secret})
    # no scope asked: the demo access group's scopes
    assert_issued(response, 120, {"cases", "casetypes"})


def test_basic_credentials_are_form_urlencoded_before_base64(
        http: TestClient, demo: dict[str, Any]) -> None:
    # RFC 6749 §2.3.1: "%2D" is "-" once decoded; a server must decode before comparing
    client_id, secret = demo["client_id"], demo["client_secret"]
    encoded = "".join(f"%{ord(ch):02X}" if ch in "-_" else ch for ch in secret)
    response = http.post(TOKEN_PATH, data=GRANT, headers=basic(client_id, encoded))
    assert_issued(response, 3600, {"cases", "casetypes"})


def test_issued_scope_is_asked_and_client_and_group_allow(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    # SECURITY Decision 4; RFC 6749 §3.3: a scope other than asked is returned in `scope`
    subset = http.post(TOKEN_PATH, data=GRANT | {"scope": "casetypes"},
                       auth=(demo["client_id"], demo["client_secret"]))
    assert_issued(subset, 3600, {"casetypes"})
    registration, secret = make_registration(db, settings, scopes=["cases"])
    mixed = http.post(TOKEN_PATH, data=GRANT | {"scope": "cases casetypes"},
                      auth=(registration.client_id, secret))
    assert_issued(mixed, 3600, {"cases"})  # the one this client may not ask is dropped
    default = http.post(TOKEN_PATH, data=GRANT, auth=(registration.client_id, secret))
    assert_issued(default, 3600, {"cases"})  # restricted registration, nothing asked
