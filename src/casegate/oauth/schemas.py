"""What the OAuth endpoints take and answer, as /openapi.json documents it.

The bodies are built elsewhere (oauth/tokens.py, introspection.py, metadata.py, keys.py,
denylist.py); these shapes describe them, and the suite's schemathesis run checks that the
two agree. The forms are read by hand (web/oauth_http.py), so their schemas are written out
here rather than derived from a parameter list."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict


class TokenAnswer(TypedDict):
    """RFC 6749 §5.1 (and OpenID Connect Core §3.1.3.3 with `openid`)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: NotRequired[str]
    refresh_token: NotRequired[str]
    id_token: NotRequired[str]


class OAuthError(TypedDict):
    """RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1; `temporarily_unavailable` with 503."""

    error: Literal["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                   "unsupported_grant_type", "invalid_scope", "unsupported_token_type",
                   "invalid_token", "insufficient_scope", "access_denied",
                   "temporarily_unavailable"]
    error_description: str


class Introspection(TypedDict):
    """RFC 7662 §2.2: `{"active": false}` for any token that is not one of this client's live
    access tokens."""

    active: bool
    token_type: NotRequired[Literal["Bearer"]]
    username: NotRequired[str]
    scope: NotRequired[str]
    client_id: NotRequired[str]
    sub: NotRequired[str]
    aud: NotRequired[str | list[str]]
    iss: NotRequired[str]
    exp: NotRequired[int]
    iat: NotRequired[int]
    jti: NotRequired[str]


class PublicKey(TypedDict):
    """RFC 7517 §4: an EC P-256 key (`crv`, `x`, `y`) or an RSA key (`n`, `e`)."""

    kty: Literal["EC", "RSA"]
    kid: str
    alg: Literal["ES256", "RS256"]
    use: Literal["sig"]
    crv: NotRequired[str]
    x: NotRequired[str]
    y: NotRequired[str]
    n: NotRequired[str]
    e: NotRequired[str]


class KeySet(TypedDict):
    keys: list[PublicKey]


class ServerMetadata(TypedDict):
    """RFC 8414 §2 and OpenID Connect Discovery 1.0 §3 (one document serves both)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str
    introspection_endpoint: str
    userinfo_endpoint: str
    end_session_endpoint: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    code_challenge_methods_supported: list[str]
    authorization_response_iss_parameter_supported: bool
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    claims_supported: list[str]
    prompt_values_supported: list[str]
    scopes_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_signing_alg_values_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_signing_alg_values_supported: list[str]
    service_documentation: str


class UserInfo(TypedDict):
    """OpenID Connect Core §5.3.2: `name` with the `profile` scope."""

    sub: str
    name: NotRequired[str]


class DenyEntry(TypedDict):
    jti: str
    client_id: str
    reason: str
    by: str
    revoked_at: float
    expires_at: float


class DenyList(TypedDict):
    tokens: list[DenyEntry]


# -- the forms (application/x-www-form-urlencoded) -----------------------------------------
def _fields(fields: dict[str, str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    # a required field sent empty is refused as missing
    return {name: {"type": "string", "description": text} | (
        {"minLength": 1} if name in required else {}) for name, text in fields.items()}


CLIENT_FIELDS = _fields({
    "client_id": "client_secret_post, or a public client",
    "client_secret": "client_secret_post only",
    "client_assertion_type": "private_key_jwt: "
                             "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "client_assertion": "private_key_jwt: the client's signed JWT"})
SCOPE = _fields({"scope": "space-separated; default: all the client may have"})
# grant type: (its fields, those required)
GRANT_FIELDS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "client_credentials": (SCOPE, []),
    "authorization_code": (_fields({"code": "the code",
                                    "redirect_uri": "as in the authorization request",
                                    "code_verifier": "the PKCE verifier"}, ("code",)),
                           ["code"]),
    "refresh_token": (_fields({"refresh_token": "the refresh token"}, ("refresh_token",))
                      | SCOPE, ["refresh_token"]),
    "password": (_fields({"username": "the operator", "password": "its password"},
                         ("username", "password")) | SCOPE, ["username", "password"]),
    "urn:ietf:params:oauth:grant-type:jwt-bearer": (
        _fields({"assertion": "the JWT"}, ("assertion",)) | SCOPE, ["assertion"]),
    "urn:ietf:params:oauth:grant-type:saml2-bearer": (
        _fields({"assertion": "the SAML assertion, base64url"}, ("assertion",)) | SCOPE,
        ["assertion"]),
}
# Basic, or the client's fields in the form (no scheme to declare for that)
CLIENT_AUTH: list[dict[str, list[str]]] = [{"clientBasic": []}, {}]


def form_body(schema: dict[str, Any]) -> dict[str, Any]:
    """openapi_extra of an endpoint that reads a form by hand."""
    return {"requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": schema}}}, "security": CLIENT_AUTH}


def token_form() -> dict[str, Any]:
    """One schema per grant type (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6; RFC 7523 §2.1;
    RFC 7522 §2.1), told apart by grant_type."""
    return {"oneOf": [
        {"title": grant, "type": "object", "required": ["grant_type", *required],
         "properties": {"grant_type": {"type": "string", "const": grant}} | fields
         | CLIENT_FIELDS}
        for grant, (fields, required) in GRANT_FIELDS.items()]}


TOKEN_DOC = form_body(token_form())
TOKEN_ARG_DOC = form_body({"type": "object", "required": ["token"], "properties": _fields({
    "token": "an access token of this client (a refresh token too, at revocation)",
    "token_type_hint": "optional: access_token or refresh_token"}, ("token",)) | CLIENT_FIELDS})
