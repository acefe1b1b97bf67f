"""SECURITY.md §2.8 and issue 9's list for the JWT bearer grant, each attack its own test:
every refusal is invalid_grant with a description saying what failed, and an audit event."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.app import create_app
from casegate.settings import Settings
from casegate.storage.models import AuditEvent
from conftest import BASE_URL
from fixtures.assertions import (
    JWT_BEARER,
    TOKEN_PATH,
    Issuer,
    Trusted,
    new_key,
    token_endpoint,
    trust_issuer,
)
from fixtures.factories import make_operator

Refused = Callable[[str], str]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


@pytest.fixture
def idp() -> Issuer:
    return Issuer()


@pytest.fixture
def trusted(db: sessionmaker[Session], settings: Settings, idp: Issuer) -> Trusted:
    return trust_issuer(db, settings, idp, provision=False, claim_checks={"tenant": "city"},
                        required_claims=["tenant"])


@pytest.fixture
def person(db: sessionmaker[Session]) -> str:
    return make_operator(db, kind="person", password="pw-123456789")


@pytest.fixture
def claims(idp: Issuer, person: str, settings: Settings) -> Callable[..., dict[str, Any]]:
    """Claims that pass every check; a test changes the one it attacks (None: left out)."""

    def make(**changed: Any) -> dict[str, Any]:
        return idp.claims(person, token_endpoint(settings), tenant="city") | changed

    return make


def post(http: TestClient, trusted: Trusted, assertion: str) -> Any:
    return http.post(TOKEN_PATH, data={"grant_type": JWT_BEARER, "assertion": assertion},
                     auth=(trusted.client_id, trusted.secret))


@pytest.fixture
def refused(http: TestClient, trusted: Trusted, db: sessionmaker[Session]) -> Refused:
    """Post the assertion; it must be refused with invalid_grant and audited. Returns the
    description."""

    def check(assertion: str) -> str:
        response = post(http, trusted, assertion)
        assert response.status_code == 400, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["error"] == "invalid_grant"
        http.app.state.runtime.audit.flush()  # type: ignore[attr-defined]
        with db() as session:
            events = list(session.scalars(select(AuditEvent).where(
                AuditEvent.event == "token.refused")))
        assert [e.detail["detail"] for e in events][-1] == body["error_description"]
        assert events[-1].outcome == "refused" and events[-1].subject == trusted.client_id
        return str(body["error_description"])

    return check


def test_control_the_unchanged_assertion_is_accepted(
        http: TestClient, trusted: Trusted, idp: Issuer, claims: Callable[..., dict[str, Any]]
) -> None:
    assert post(http, trusted, idp.sign(claims())).status_code == 200


def test_a_signature_by_another_key_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    forged = idp.sign(claims(), key=new_key(), kid=idp.key.kid)  # the trusted key's kid
    assert refused(forged) == ("the assertion's signature does not verify with the trusted "
                               "keys")


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
def test_keys_named_in_the_header_are_ignored(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]],
        header: str) -> None:
    attacker = new_key("EC")  # small enough for joserfc's 512-byte header cap
    value: Any = {"jwk": dict(attacker.as_dict(private=False)),
                  "jku": "https://attacker.example/jwks", "x5u": "https://attacker.example/c",
                  "x5c": [b64(b"not a certificate casegate would ever read")]}[header]
    forged = idp.sign(claims(), key=attacker, **{header: value})
    assert refused(forged) == ("the assertion's signature does not verify with the trusted "
                               "keys")


def test_alg_none_is_refused(refused: Refused, claims: Callable[..., dict[str, Any]]) -> None:
    unsigned = f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims())}."
    assert refused(unsigned) == "the assertion's algorithm is not allowed"


def test_hmac_with_the_public_key_as_secret_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    """Algorithm confusion: the issuer's public key (which anyone has) used as an HS256 key."""
    public_pem = idp.key.as_pem(private=False)
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT'})}.{b64json(claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert refused(f"{signing_input}.{b64(mac)}") == "the assertion's algorithm is not allowed"


def test_an_algorithm_outside_the_profiles_list_is_refused(
        http: TestClient, db: sessionmaker[Session], settings: Settings, person: str) -> None:
    idp = Issuer()
    trusted = trust_issuer(db, settings, idp, provision=False, algorithms=["ES256"])
    response = post(http, trusted, idp.assertion(person, token_endpoint(settings)))  # RS256
    assert response.status_code == 400
    assert response.json()["error_description"] == "the assertion's algorithm is not allowed"


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp"])
def test_a_required_claim_missing_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]],
        claim: str) -> None:
    description = refused(idp.sign(claims(**{claim: None})))
    assert description == f"the assertion lacks the claim {claim}"


def test_another_issuer_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    assert refused(idp.sign(claims(iss="https://other.example"))) == (
        "the assertion's iss is not accepted")


def test_another_audience_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    assert refused(idp.sign(claims(aud="https://elsewhere.example/token"))) == (
        "the assertion's aud is not accepted")


def test_the_issuer_url_is_an_accepted_audience_by_default(
        http: TestClient, trusted: Trusted, idp: Issuer,
        claims: Callable[..., dict[str, Any]]) -> None:
    assert post(http, trusted, idp.sign(claims(aud=BASE_URL))).status_code == 200


def test_an_expired_assertion_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    now = int(time.time())
    # past the 60 s skew
    assert refused(idp.sign(claims(iat=now - 200, exp=now - 61))) == (
        "the assertion has expired")


def test_a_lifetime_over_the_profiles_maximum_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    now = int(time.time())
    assert refused(idp.sign(claims(iat=now, exp=now + 301))) == (
        "the assertion lives longer than 300 s")


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_issued_or_valid_only_in_the_future_beyond_the_skew_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]],
        claim: str) -> None:
    now = int(time.time())
    future = claims(**{claim: now + 90, "exp": now + 200})
    assert refused(idp.sign(future)) == f"the assertion's {claim} is not accepted"


def test_an_access_token_typ_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    """RFC 8725 §3.11: an access token signed by the same issuer is not an assertion."""
    assert refused(idp.sign(claims(), typ="at+jwt")) == (
        "the JWT is of another type (not an assertion)")


def test_a_replayed_assertion_with_jti_is_refused(
        http: TestClient, trusted: Trusted, refused: Refused, idp: Issuer,
        claims: Callable[..., dict[str, Any]]) -> None:
    assertion = idp.sign(claims())
    assert post(http, trusted, assertion).status_code == 200
    assert refused(assertion) == "the assertion was already used"
    # the same (iss, jti) in another assertion is the same assertion
    assert refused(idp.sign(claims(jti=json.loads(base64.urlsafe_b64decode(
        assertion.split(".")[1] + "==")).get("jti"), iat=int(time.time()) - 1))) == (
        "the assertion was already used")


def test_a_replayed_assertion_without_jti_is_refused_by_its_digest(
        http: TestClient, trusted: Trusted, refused: Refused, idp: Issuer,
        claims: Callable[..., dict[str, Any]]) -> None:
    """google-auth sends no jti: the assertion's SHA-256 is its identity."""
    first = idp.sign(claims(jti=None))
    assert post(http, trusted, first).status_code == 200
    assert refused(first) == "the assertion was already used"
    other = idp.sign(claims(jti=None, iat=int(time.time()) - 2))  # another assertion
    assert post(http, trusted, other).status_code == 200


@pytest.fixture
def second_process(settings: Settings) -> Iterator[TestClient]:
    """Another casegate process on the same database (it shares nothing but the database)."""
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        yield client


def test_the_replay_store_is_shared_by_all_processes(
        http: TestClient, second_process: TestClient, trusted: Trusted, idp: Issuer,
        claims: Callable[..., dict[str, Any]]) -> None:
    assertion = idp.sign(claims())
    assert post(http, trusted, assertion).status_code == 200
    response = post(second_process, trusted, assertion)
    assert response.status_code == 400
    assert response.json()["error_description"] == "the assertion was already used"


def test_a_claim_check_that_fails_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    assert refused(idp.sign(claims(tenant="elsewhere"))) == (
        "the assertion's claim tenant does not have the required value")


def test_a_required_profile_claim_missing_is_refused(
        refused: Refused, idp: Issuer, claims: Callable[..., dict[str, Any]]) -> None:
    assert refused(idp.sign(claims(tenant=None))) == "the assertion lacks the claim tenant"


def test_an_oversized_assertion_is_refused_before_parsing(refused: Refused) -> None:
    assert refused("e" * 20000) == "the assertion is larger than 16 KiB"


def test_a_malformed_assertion_is_refused(refused: Refused) -> None:
    assert refused("not-a-jwt") == "the assertion is not a signed JWT"
