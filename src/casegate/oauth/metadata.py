"""RFC 8414 authorization server metadata, naming every endpoint."""

from __future__ import annotations

from typing import Any

from casegate.access.trust import DEFAULT_ALGORITHMS

TOKEN = "/prweb/PRRestService/oauth2/v1/token"  # noqa: S105 (a path)
REVOKE = "/prweb/PRRestService/oauth2/v1/revoke"
INTROSPECT = "/prweb/PRRestService/oauth2/v1/token/introspect"
AUTHORIZE = "/prweb/PRRestService/oauth2/v1/authorize"
KEYS = "/prweb/PRRestService/oauth2/v1/token/keys"
DENYLIST = "/prweb/api/oauth2/v1/token/denylist"
USERINFO = "/prweb/PRRestService/oauth2/v1/userinfo"
LOGOUT = "/prweb/PRRestService/oauth2/v1/logout"

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
# what a client assertion may be signed with (RFC 8414 §2: required with private_key_jwt)
CLIENT_ASSERTION_ALGS = list(DEFAULT_ALGORITHMS)


def document(base: str, grant_types: list[str], scopes: list[str],
             signing_alg: str) -> dict[str, Any]:
    """RFC 8414, and OpenID Connect Discovery 1.0 §3 (one document serves both)."""
    return {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE,
        "token_endpoint": base + TOKEN,
        "jwks_uri": base + KEYS,
        "revocation_endpoint": base + REVOKE,
        "introspection_endpoint": base + INTROSPECT,
        "userinfo_endpoint": base + USERINFO,
        "end_session_endpoint": base + LOGOUT,
        # `password` is listed, but served only to clients explicitly allowed it (RFC 9700
        # §2.4 says it must not be used; kept for Pega parity, SECURITY Decision 1)
        "grant_types_supported": grant_types,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [signing_alg],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                             "at_hash", "azp", "name"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "scopes_supported": scopes,
        # "none": public clients, at the token endpoint for the code and refresh grants
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "service_documentation": base + "/docs",
    }
