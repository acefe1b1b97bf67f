"""RFC 8414 metadata names both assertion grants and private_key_jwt (with the algorithms a
client assertion may use, which §2 requires alongside it)."""

from fastapi.testclient import TestClient


def test_metadata_lists_the_assertion_grants_and_private_key_jwt(http: TestClient) -> None:
    doc = http.get("/.well-known/oauth-authorization-server").json()
    assert {"urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:saml2-bearer"} <= set(doc["grant_types_supported"])
    for endpoint in ("token", "revocation", "introspection"):
        assert "private_key_jwt" in doc[f"{endpoint}_endpoint_auth_methods_supported"]
        assert doc[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == [
            "RS256", "ES256", "PS256"]
