"""RFC 8414 authorization server metadata: exact URLs, and every endpoint it names answers."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fixtures.factories import get_token
from oauth.jwt_parts import ISSUER, claims_of

WELL_KNOWN = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
ENDPOINTS = {
    "token_endpoint": ISSUER + "/prweb/PRRestService/oauth2/v1/token",
    "revocation_endpoint": ISSUER + "/prweb/PRRestService/oauth2/v1/revoke",
    "introspection_endpoint": ISSUER + "/prweb/PRRestService/oauth2/v1/token/introspect",
    "jwks_uri": ISSUER + "/prweb/PRRestService/oauth2/v1/token/keys",
}
POSTED = {"token_endpoint", "revocation_endpoint", "introspection_endpoint"}


def metadata(http: TestClient, path: str) -> dict[str, Any]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("path", WELL_KNOWN)
def test_metadata_names_issuer_and_endpoints_exactly(
        path: str, http: TestClient, demo: dict[str, Any]) -> None:
    doc = metadata(http, path)
    # RFC 8414 §2: https, no query or fragment; §3.3: identical to the issuer of the tokens
    assert doc["issuer"] == ISSUER
    for name, url in ENDPOINTS.items():
        assert doc[name] == url, name
    assert "client_credentials" in doc["grant_types_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        doc["token_endpoint_auth_methods_supported"])
    # public clients ("none") at the token endpoint; introspection is for confidential ones
    assert "none" in doc["token_endpoint_auth_methods_supported"]
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert {"cases", "casetypes"} <= set(doc["scopes_supported"])
    assert isinstance(doc["response_types_supported"], list)  # REQUIRED by §2
    # both addresses serve one document, whose issuer signs the tokens
    assert doc == metadata(http, WELL_KNOWN[0])
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert claims_of(token)["iss"] == doc["issuer"]


def test_every_endpoint_named_in_the_metadata_answers(
        http: TestClient, demo: dict[str, Any]) -> None:
    doc = metadata(http, WELL_KNOWN[0])
    named = {k: v for k, v in doc.items() if isinstance(v, str) and v.startswith("https://")
             and k != "issuer"}
    assert set(ENDPOINTS) <= set(named)
    for name, url in named.items():
        assert url.startswith(ISSUER + "/"), name
        path = url.removeprefix(ISSUER)
        if name in POSTED:
            response = http.post(path, data={})
            # an OAuth error, not a missing route
            assert response.status_code in (400, 401), (name, response.status_code)
            assert "error" in response.json(), name
        else:
            response = http.get(path)
            # a bare authorization request names no client: a page says so, no redirect;
            # userinfo wants a bearer token
            expected = {"authorization_endpoint": 400, "userinfo_endpoint": 401}.get(name, 200)
            assert response.status_code == expected, (name, response.status_code)
    keys = http.get(named["jwks_uri"].removeprefix(ISSUER)).json()["keys"]
    assert keys and all("kid" in key and "kty" in key for key in keys)
