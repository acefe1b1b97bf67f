"""The authorization code flow with PKCE S256, end to end over HTTP, for a public and a
confidential client: what the app receives, what the tokens say, what they may do."""

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from fixtures.factories import bearer
from people.conftest import MakeApp
from people.flow import (
    ISSUER,
    KEYS_PATH,
    USERINFO_PATH,
    App,
    Person,
    code_for,
    created_by,
    exchange,
    full_flow,
    left_half_sha256,
)

AUDIENCE = ISSUER + "/prweb/api"


def verified(http: TestClient, token: str, typ: str) -> dict[str, Any]:
    """The claims of a token whose signature checks against the published JWKS."""
    keys = KeySet.import_key_set(http.get(KEYS_PATH).json())
    decoded = jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    assert decoded.header["typ"] == typ
    claims: dict[str, Any] = decoded.claims
    return claims


@pytest.fixture(params=["public", "confidential"])
def any_app(request: pytest.FixtureRequest, make_app: MakeApp) -> App:
    return make_app(public=request.param == "public")


def test_code_flow_gives_tokens_that_act_as_the_person(http: TestClient, any_app: App,
                                                       person: Person) -> None:
    state = "a b&c=d/é~%20"  # returned exactly as sent, however odd
    before = int(time.time())
    grant = full_flow(http, any_app, person, scope="openid profile cases", nonce="n-0S6_WzA2Mj",
                      state=state)
    after = int(time.time()) + 1

    assert grant.redirect["state"] == state
    assert grant.redirect["iss"] == ISSUER  # RFC 9207
    assert set(grant.redirect) == {"code", "state", "iss"}
    token = grant.token
    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"openid", "profile", "cases"}
    assert token["refresh_token"]

    access = verified(http, token["access_token"], "at+jwt")
    assert access["sub"] == person.operator_id
    assert access["client_id"] == any_app.client_id
    assert access["aud"] == AUDIENCE
    assert created_by(http, token["access_token"]) == person.operator_id

    id_claims = verified(http, token["id_token"], "JWT")
    JWTClaimsRegistry(iss={"essential": True, "value": ISSUER},
                      aud={"essential": True, "value": any_app.client_id},
                      exp={"essential": True}, iat={"essential": True}).validate(id_claims)
    assert id_claims["sub"] == person.operator_id
    assert id_claims["nonce"] == "n-0S6_WzA2Mj"
    assert before <= id_claims["auth_time"] <= after
    assert id_claims["at_hash"] == left_half_sha256(token["access_token"])
    assert id_claims["name"] == person.operator_id  # the operator's name defaults to its ID


def test_token_response_is_not_cached(http: TestClient, app: App, person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    response = exchange(http, app, code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


def test_without_openid_there_is_no_id_token(http: TestClient, app: App,
                                              person: Person) -> None:
    token = full_flow(http, app, person, scope="cases").token
    assert "id_token" not in token
    assert token["scope"] == "cases"


def test_confidential_client_with_a_wrong_secret_is_refused(http: TestClient, app: App,
                                                            person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    wrong = App(app.client_id, app.secret[:-2] + "xx", app.redirect_uri)
    response = exchange(http, wrong, code, verifier)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # the code is still good for the real client
    assert exchange(http, app, code, verifier).status_code == 200


def test_confidential_client_cannot_redeem_without_its_secret(http: TestClient, app: App,
                                                              person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    as_public = App(app.client_id, "", app.redirect_uri)
    response = exchange(http, as_public, code, verifier)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


class TestUserinfo:
    def test_answers_who_the_person_is(self, http: TestClient, app: App,
                                       person: Person) -> None:
        token = full_flow(http, app, person, scope="openid profile").token["access_token"]
        expected = {"sub": person.operator_id, "name": person.operator_id}
        got = http.get(USERINFO_PATH, headers=bearer(token))
        assert got.status_code == 200
        assert got.json() == expected
        assert got.headers["cache-control"] == "no-store"
        assert http.post(USERINFO_PATH, headers=bearer(token)).json() == expected

    def test_without_profile_there_is_no_name(self, http: TestClient, app: App,
                                              person: Person) -> None:
        token = full_flow(http, app, person, scope="openid").token["access_token"]
        assert http.get(USERINFO_PATH, headers=bearer(token)).json() == {
            "sub": person.operator_id}

    def test_needs_the_openid_scope(self, http: TestClient, app: App, person: Person) -> None:
        token = full_flow(http, app, person, scope="cases").token["access_token"]
        response = http.get(USERINFO_PATH, headers=bearer(token))
        assert response.status_code == 403
        assert response.json()["error"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]

    def test_refuses_a_bad_token(self, http: TestClient) -> None:
        response = http.get(USERINFO_PATH, headers=bearer("not.a.token"))
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]

    def test_refuses_no_token(self, http: TestClient) -> None:
        response = http.get(USERINFO_PATH)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
