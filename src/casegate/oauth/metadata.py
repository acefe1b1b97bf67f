"""RFC 8414 authorization server metadata, naming every endpoint."""

from __future__ import annotations

from typing import Any

TOKEN = "/prweb/PRRestService/oauth2/v1/token"  # noqa: S105 (a path)
REVOKE = "/prweb/PRRestService/oauth2/v1/revoke"
INTROSPECT = "/prweb/PRRestService/oauth2/v1/token/introspect"
AUTHORIZE = "/prweb/PRRestService/oauth2/v1/authorize"
KEYS = "/prweb/PRRestService/oauth2/v1/token/keys"
DENYLIST = "/prweb/api/oauth2/v1/token/denylist"

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def document(base: str, grant_types: list[str], scopes: list[str]) -> dict[str, Any]:
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN,
        "jwks_uri": base + KEYS,
        "revocation_endpoint": base + REVOKE,
        "introspection_endpoint": base + INTROSPECT,
        "grant_types_supported": grant_types,
        # no authorization endpoint yet: no response type is served
        "response_types_supported": [],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "service_documentation": base + "/docs",
    }
