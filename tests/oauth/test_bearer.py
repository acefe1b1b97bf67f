"""RFC 6750 at the case API: which tokens are refused, and how the refusal reads.

RFC 6750 §3: a request without credentials gets a bare `Bearer realm=…` challenge (no error
code, §3.1); a bad, expired or revoked token gets 401 with `error="invalid_token"`; a
malformed request 400 `invalid_request`. The body is the Pega-API error envelope (DESIGN).
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import operators
from casegate.clients import service as clients
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import (
    CASES_PATH,
    SEED_BODY,
    bearer,
    get_token,
    make_group,
    make_operator,
    make_registration,
)
from oauth.jwt_parts import ISSUER, b64url, b64url_json, claims_of, header_of

REVOKE_PATH = "/prweb/PRRestService/oauth2/v1/revoke"
INVALID_TOKEN_BODY = {"pxObjClass": "Pega-API", "errors": [
    {"ID": "Pega_API_Unauthorized", "message": "the access token is invalid, expired or revoked"}]}

Forge = Callable[..., str]


@pytest.fixture
def case_id(http: TestClient, demo: dict[str, Any]) -> str:
    """A case that exists, so a refused GET is about the token, not a missing case."""
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert created.status_code == 201, created.text
    return str(created.json()["ID"])


@pytest.fixture
def call(http: TestClient, case_id: str) -> Callable[[dict[str, str]], Iterator[httpx.Response]]:
    """Both protected calls (create a case, read a case) with the given headers."""

    def both(headers: dict[str, str]) -> Iterator[httpx.Response]:
        yield http.post(CASES_PATH, json=SEED_BODY, headers=headers)
        yield http.get(f"{CASES_PATH}/{case_id}", headers=headers)

    return both


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="casegate"')
    assert 'error="invalid_token"' in challenge
    assert response.json() == INVALID_TOKEN_BODY


def demo_token(http: TestClient, demo: dict[str, Any]) -> str:
    token: str = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    return token


# -- no token, a malformed header, a token in the URL -------------------------------------------

def test_missing_authorization_gets_a_bare_bearer_challenge(
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    for response in call({}):
        assert response.status_code == 401
        # RFC 6750 §3.1: no error code when the request carried no credentials
        assert response.headers["www-authenticate"] == 'Bearer realm="casegate"'
        assert response.json() == {"pxObjClass": "Pega-API", "errors": [
            {"ID": "Pega_API_Unauthorized", "message": "an access token is required"}]}


def test_another_authentication_scheme_gets_a_bare_bearer_challenge(
        demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    # RFC 6750 §3.1: a client that "attempted using an unsupported authentication method"
    # gets the challenge without an error code, as if it had sent nothing
    credentials = base64.b64encode(f"{demo['client_id']}:{demo['client_secret']}".encode())
    for header in (f"Basic {credentials.decode()}", "Digest username=x", "Token abc"):
        for response in call({"Authorization": header}):
            assert response.status_code == 401, header
            assert response.headers["www-authenticate"] == 'Bearer realm="casegate"', header
            assert response.json()["errors"][0]["ID"] == "Pega_API_Unauthorized"


def test_malformed_bearer_header_is_an_invalid_token(
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    for header in ("Bearer", "Bearer ", "Bearer a b", "Bearer  a.b.c d"):
        for response in call({"Authorization": header}):
            assert response.status_code == 401, header
            assert 'error="invalid_token"' in response.headers["www-authenticate"], header
            assert response.json()["pxObjClass"] == "Pega-API"
            assert response.json()["errors"][0]["ID"] == "Pega_API_Unauthorized"


def test_token_in_the_query_string_is_refused(
        http: TestClient, demo: dict[str, Any], case_id: str) -> None:
    token = demo_token(http, demo)
    # RFC 6750 §2.3 is a MAY that RFC 9700 §4.3.2 advises against: casegate refuses it
    for response in (http.post(CASES_PATH, params={"access_token": token}, json=SEED_BODY),
                     http.get(f"{CASES_PATH}/{case_id}", params={"access_token": token})):
        assert response.status_code == 400, response.text
        assert 'error="invalid_request"' in response.headers["www-authenticate"]
        assert response.json()["pxObjClass"] == "Pega-API"
        assert response.json()["errors"][0]["ID"] == "Pega_API_InvalidRequest"


# -- tokens that are not casegate's, or not valid now --------------------------------------------

def test_a_correctly_forged_token_is_accepted(
        forge: Forge, call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    """The control for the forged tokens below: each differs from this one in one thing."""
    assert [r.status_code for r in call(bearer(forge()))] == [201, 200]
    # RFC 9068 §4 allows the media type's long form too
    long_typ = forge(header={"typ": "application/at+jwt"})
    assert [r.status_code for r in call(bearer(long_typ))] == [201, 200]


def test_garbage_token_is_refused(
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    for token in ("garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "x" * 5000):
        for response in call(bearer(token)):
            assert_invalid_token(response)


def test_tampered_payload_with_the_original_signature_is_refused(
        http: TestClient, demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    token = demo_token(http, demo)
    header, _, signature = token.split(".")
    claims = claims_of(token)
    claims["sub"] = "administrator@casegate"  # an operator that exists, with every privilege
    tampered = f"{header}.{b64url_json(claims)}.{signature}"
    for response in call(bearer(tampered)):
        assert_invalid_token(response)


def test_token_signed_by_a_foreign_key_with_our_kid_is_refused(
        forge: Forge, server_key: ECKey | RSAKey,
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    foreign = ECKey.generate_key("P-256", parameters={"kid": server_key.kid, "alg": "ES256"})
    token = forge(key=foreign)
    assert header_of(token)["kid"] == server_key.kid
    for response in call(bearer(token)):
        assert_invalid_token(response)


def test_unsigned_alg_none_token_is_refused(
        valid_claims: Callable[[], dict[str, Any]], server_key: ECKey | RSAKey,
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": server_key.kid}
    for token in (f"{b64url_json(header)}.{b64url_json(valid_claims())}.",
                  f"{b64url_json(header | {'alg': 'None'})}.{b64url_json(valid_claims())}."):
        for response in call(bearer(token)):
            assert_invalid_token(response)


def test_hs256_token_keyed_with_the_public_key_is_refused(
        valid_claims: Callable[[], dict[str, Any]], server_key: ECKey | RSAKey,
        http: TestClient,
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    """Algorithm confusion: the public key (PEM, or the JWKS JSON) used as an HMAC secret."""
    public_pem = server_key.as_pem(private=False)
    public_jwk = json.dumps(next(k for k in http.get(
        "/prweb/PRRestService/oauth2/v1/token/keys").json()["keys"]
        if k["kid"] == server_key.kid)).encode()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": server_key.kid}
    signing_input = f"{b64url_json(header)}.{b64url_json(valid_claims())}"
    for secret in (public_pem, public_jwk):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        for response in call(bearer(f"{signing_input}.{b64url(mac)}")):
            assert_invalid_token(response)


# one claim changed each; times relative to now; None leaves the claim out
BAD_CLAIMS: dict[str, dict[str, Any]] = {
    "wrong_audience": {"aud": ISSUER + "/another/api"},
    "wrong_audience_list": {"aud": [ISSUER + "/another/api"]},
    "no_audience": {"aud": None},
    "wrong_issuer": {"iss": "https://evil.example"},
    "issuer_not_exactly_equal": {"iss": ISSUER + "/"},
    "expired_an_hour_ago": {"exp": -3600, "iat": -7200},
    "no_expiry": {"exp": None},
    "no_issued_at": {"iat": None},
    "no_jti": {"jti": None},
    "no_client_id": {"client_id": None},
    "unknown_operator": {"sub": "nobody@nowhere"},
    "unknown_client": {"client_id": "10000000000000000001"},
    "issued_in_the_future": {"iat": 3600, "exp": 7200},
}


def test_correctly_signed_token_with_a_bad_claim_is_refused(
        forge: Forge, call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    now = int(time.time())
    for name, changed in BAD_CLAIMS.items():
        claims = {k: now + v if k in ("iat", "exp") and v is not None else v
                  for k, v in changed.items()}
        for response in call(bearer(forge(**claims))):
            assert response.status_code == 401, name
            assert_invalid_token(response)


def test_token_is_refused_from_the_second_of_its_exp(
        forge: Forge, settings: Settings,
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    # RFC 7519 §4.1.4: "on or after" exp (and the clock skew allowed) it MUST NOT be accepted
    now = int(time.time()) - settings.clock_skew
    for response in call(bearer(forge(iat=now - 60, exp=now))):
        assert_invalid_token(response)


def test_correctly_signed_token_of_another_type_is_refused(
        forge: Forge, call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    # RFC 9068 §4: the resource server MUST check typ is "at+jwt" (or application/at+jwt)
    for typ in ("JWT", "jwt", None, "at+jwt+evil", "application/jwt"):
        for response in call(bearer(forge(header={"typ": typ}))):
            assert response.status_code == 401, typ
            assert_invalid_token(response)


def test_correctly_signed_token_with_a_bad_header_is_refused(
        server_key: ECKey | RSAKey, valid_claims: Callable[[], dict[str, Any]],
        sign_raw: Callable[[dict[str, Any], dict[str, Any]], str],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    good = {"alg": "ES256", "typ": "at+jwt", "kid": server_key.kid}
    # control: the hand-made signature is right, so each refusal is about the header
    assert [r.status_code for r in call(bearer(sign_raw(good, valid_claims())))] == [201, 200]
    bad_headers: dict[str, dict[str, Any]] = {
        "no_kid": {k: v for k, v in good.items() if k != "kid"},
        "unknown_kid": good | {"kid": "no-such-key"},
        # RFC 7515 §4.1.11: an extension the recipient does not understand MUST be refused
        "unknown_critical_extension": good | {"crit": ["x-casegate-test"],
                                              "x-casegate-test": 1},
        "alg_in_another_case": good | {"alg": "es256"},
    }
    for name, header in bad_headers.items():
        for response in call(bearer(sign_raw(header, valid_claims()))):
            assert response.status_code == 401, name
            assert_invalid_token(response)


def test_revoked_token_is_refused_at_the_next_request(
        http: TestClient, demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    token = demo_token(http, demo)
    assert [r.status_code for r in call(bearer(token))] == [201, 200]
    revoked = http.post(REVOKE_PATH, data={"token": token},
                        auth=(demo["client_id"], demo["client_secret"]))
    assert revoked.status_code == 200
    for response in call(bearer(token)):
        assert_invalid_token(response)


# -- privileges ----------------------------------------------------------------------------------

def test_operator_without_pxcreatecase_gets_403(
        http: TestClient, db: sessionmaker[Session], settings: Settings, case_id: str) -> None:
    group = make_group(db, ["pxGetCases"], ["cases"])
    operator = make_operator(db, group=group)
    registration, secret = make_registration(db, settings, operator=operator)
    token = get_token(http, registration.client_id, secret)["access_token"]
    refused = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["pxObjClass"] == "Pega-API"
    assert [e["ID"] for e in body["errors"]] == ["Pega_API_Forbidden"]
    message = body["errors"][0]["message"]
    assert "pxCreateCase" in message and operator in message
    # the same token reads cases: the 403 is about the privilege, not the token
    assert http.get(f"{CASES_PATH}/{case_id}", headers=bearer(token)).status_code == 200


# -- changes made by an administrator take effect at the very next request -----------------------

def test_disabling_the_operator_fails_its_tokens_at_the_next_request(
        http: TestClient, db: sessionmaker[Session], demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    token = demo_token(http, demo)
    assert [r.status_code for r in call(bearer(token))] == [201, 200]
    with transaction(db) as session:
        operators.set_enabled(session, demo["operator"], False)
    for response in call(bearer(token)):
        assert_invalid_token(response)


def test_disabling_the_client_fails_its_tokens_at_the_next_request(
        http: TestClient, db: sessionmaker[Session], demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    token = demo_token(http, demo)
    assert [r.status_code for r in call(bearer(token))] == [201, 200]
    with transaction(db) as session:
        clients.set_enabled(session, demo["client_id"], False)
    for response in call(bearer(token)):
        assert_invalid_token(response)


def test_regenerated_secret_revokes_tokens_and_the_new_secret_gets_a_working_one(
        http: TestClient, db: sessionmaker[Session], settings: Settings, demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    token = demo_token(http, demo)
    assert [r.status_code for r in call(bearer(token))] == [201, 200]
    with transaction(db) as session:
        secret = clients.regenerate_secret(session, settings.hmac_key(), demo["client_id"])
    for response in call(bearer(token)):
        assert_invalid_token(response)
    # right after the regeneration, in the same second: the new token must not be caught
    fresh = get_token(http, demo["client_id"], secret)["access_token"]
    assert [r.status_code for r in call(bearer(fresh))] == [201, 200]


def test_revoke_all_tokens_fails_issued_tokens_but_not_later_or_other_clients_ones(
        http: TestClient, db: sessionmaker[Session], settings: Settings, demo: dict[str, Any],
        call: Callable[[dict[str, str]], Iterator[httpx.Response]]) -> None:
    token = demo_token(http, demo)
    registration, secret = make_registration(db, settings)
    others = get_token(http, registration.client_id, secret)["access_token"]
    assert [r.status_code for r in call(bearer(token))] == [201, 200]
    with transaction(db) as session:
        clients.revoke_tokens(session, demo["client_id"])
    for response in call(bearer(token)):
        assert_invalid_token(response)
    fresh = demo_token(http, demo)
    assert [r.status_code for r in call(bearer(fresh))] == [201, 200]
    assert [r.status_code for r in call(bearer(others))] == [201, 200]
