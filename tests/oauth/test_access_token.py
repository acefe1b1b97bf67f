"""The issued access token is an RFC 9068 JWT, verifiable by anyone with the published JWKS."""

import time
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from fixtures.factories import get_token, make_registration
from oauth.jwt_parts import ISSUER, unb64url_json

KEYS_PATH = "/prweb/PRRestService/oauth2/v1/token/keys"


def jwks(http: TestClient) -> dict[str, Any]:
    response = http.get(KEYS_PATH)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_header_is_at_jwt_es256_with_a_kid_published_in_the_public_jwks(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    header = unb64url_json(token.split(".")[0])
    # RFC 9068 §2.1: typ "at+jwt"; casegate signs with ES256 by default (DESIGN)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    keys = jwks(http)["keys"]
    assert header["kid"] in [key["kid"] for key in keys]
    for key in keys:  # public keys only
        assert key["kty"] == "EC" and key["crv"] == "P-256"
        assert {"kid", "x", "y"} <= set(key)
        assert "d" not in key  # the private part of an EC key


def test_signature_verifies_against_the_published_jwks(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    key_set = KeySet.import_key_set(jwks(http))  # type: ignore[arg-type]
    decoded = jwt.decode(token, key_set, algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["sub"] == demo["operator"]


def test_claims_name_issuer_operator_audience_client_and_lifetime(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    registration, secret = make_registration(db, settings, lifetime=120)
    before = time.time()
    token = get_token(http, registration.client_id, secret)["access_token"]
    after = time.time()
    claims = jwt.decode(token, KeySet.import_key_set(jwks(http)),  # type: ignore[arg-type]
                        algorithms=["ES256"]).claims
    # RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required
    assert claims["iss"] == ISSUER
    assert claims["sub"] == registration.operator_id  # the service operator it acts as
    assert claims["client_id"] == registration.client_id
    # the resource server it is meant for: casegate's API, not the issuer itself
    assert claims["aud"] == ISSUER + "/prweb/api"
    assert claims["exp"] - claims["iat"] == 120
    # whole seconds; up to 1 s ahead when it follows a revocation mark (tokens.issued_at)
    assert int(before) <= claims["iat"] <= after + 1
    assert set(claims["scope"].split(" ")) == {"cases", "casetypes"}
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16


def test_every_token_has_its_own_jti(http: TestClient, demo: dict[str, Any]) -> None:
    first = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    second = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert first != second
    jti = [unb64url_json(t.split(".")[1])["jti"] for t in (first, second)]
    assert jti[0] != jti[1]


def test_scope_claim_is_what_was_granted(http: TestClient, demo: dict[str, Any]) -> None:
    body = get_token(http, demo["client_id"], demo["client_secret"], scope="casetypes")
    assert unb64url_json(body["access_token"].split(".")[1])["scope"] == "casetypes"
    assert body["scope"] == "casetypes"


def test_demo_token_carries_the_seeds_operator_and_no_secret(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    claims = unb64url_json(token.split(".")[1])
    assert claims["sub"] == "cityservices-api@casegate"
    assert claims["client_id"] == demo["client_id"]
    assert claims["exp"] - claims["iat"] == 3600  # the default lifetime
    assert demo["client_secret"] not in str(claims)
    assert set(claims) == {"iss", "sub", "aud", "client_id", "iat", "exp", "jti", "scope"}
