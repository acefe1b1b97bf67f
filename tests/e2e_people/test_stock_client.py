"""Authlib's stock client runs the whole code flow with PKCE against a served casegate, the
person signing in and consenting in headless Chromium, the redirect landing on loopback."""

import base64
import hashlib
import time
from typing import Any
from urllib.parse import quote

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import BrowserContext

from e2e_people.flow import (
    Person,
    authorization,
    consent_through,
    query_of,
    refresh_refused,
    register_client,
    stock_client,
)
from e2e_people.loopback import Loopback
from fixtures.served import Served

CASE = {"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest", "processID": "pyStartCase",
        "content": {"RequestID": "P1", "RequestDetail": "a bench by the river, please"}}


def left_half_hash(token: str) -> str:
    """OpenID Connect Core §3.1.3.6 at_hash for ES256, computed here, not by casegate."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def verified_id_token(id_token: str, jwks: Any, issuer: str, client_id: str,
                      nonce: str) -> dict[str, Any]:
    decoded = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["ES256", "RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce}, exp={"essential": True},
        iat={"essential": True}, sub={"essential": True}).validate(decoded.claims)
    return dict(decoded.claims)


@pytest.mark.parametrize("kind", ["public", "confidential"])
def test_code_flow_with_pkce_refresh_and_the_api(
        kind: str, served: Served, loopback: Loopback, person: Person,
        discovery: dict[str, Any], context: BrowserContext) -> None:
    if kind == "public":
        # a native app registers its loopback URI without a port (RFC 8252 §7.3)
        registration = register_client(served, redirect_uri="http://127.0.0.1/callback",
                                       public=True)
        assert "client_secret" not in registration
    else:
        registration = register_client(served, redirect_uri=loopback.url + "/callback")
        assert registration["client_secret"]
    redirect_uri = loopback.url + "/callback"
    client_id = registration["client_id"]
    assert discovery["issuer"] == served.url
    assert "S256" in discovery["code_challenge_methods_supported"]

    with stock_client(served, registration, redirect_uri) as client:
        auth = authorization(client, discovery["authorization_endpoint"])
        came_back = consent_through(context.new_page(), auth, person, redirect_uri)
        returned = query_of(came_back)
        assert returned["state"] == auth.state
        assert returned["iss"] == discovery["issuer"]  # RFC 9207
        assert any(seen.startswith("/callback?code=") for seen in loopback.seen)
        started = time.time()

        token = client.fetch_token(discovery["token_endpoint"], authorization_response=came_back,
                                   state=auth.state, code_verifier=auth.code_verifier)
        assert token["token_type"].lower() == "bearer"
        assert set(token["scope"].split()) == {"openid", "profile", "cases"}

        jwks = client.get(discovery["jwks_uri"]).json()
        claims = verified_id_token(token["id_token"], jwks, served.url, client_id, auth.nonce)
        assert claims["sub"] == person.id
        assert claims["name"] == person.name
        assert claims["at_hash"] == left_half_hash(token["access_token"])
        assert started - 120 <= claims["auth_time"] <= started + 5

        assert client.get(discovery["userinfo_endpoint"]).json() == {
            "sub": person.id, "name": person.name}
        created = client.post(served.url + "/prweb/api/v1/cases", json=CASE)
        assert created.status_code == 201, created.text
        shown = client.get(served.url + "/prweb/api/v1/cases/" + quote(created.json()["ID"]))
        assert shown.json()["createdBy"] == person.id

        first_refresh = token["refresh_token"]
        renewed = client.refresh_token(discovery["token_endpoint"], refresh_token=first_refresh)
        assert renewed["refresh_token"] != first_refresh
        assert renewed["access_token"] != token["access_token"]
        assert client.get(discovery["userinfo_endpoint"]).json()["sub"] == person.id

        assert refresh_refused(client, discovery, first_refresh) == "invalid_grant"
        # reuse detection: the family is revoked, the rotated token and its access token too
        assert refresh_refused(client, discovery, renewed["refresh_token"]) == "invalid_grant"
    with served.client() as web:
        refused = web.get(discovery["userinfo_endpoint"],
                          headers={"Authorization": f"Bearer {renewed['access_token']}"})
    assert refused.status_code == 401
