"""RFC 7662 token introspection: a client may look at the tokens issued to it.

One decision (introspect), called by the full endpoint (authlib's dispatch, below) and by the
endpoint's fast front (web/fast_introspect.py), after the one client authentication."""

from __future__ import annotations

from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from casegate.oauth import bearer
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient, Source
from casegate.oauth.errors import InvalidRequestError
from casegate.oauth.keys import KeyRing
from casegate.oauth.requests import FormRequest
from casegate.settings import Settings

SHOWN = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
INACTIVE = {"active": False}


def introspect(source: Source, keys: KeyRing, settings: Settings, client: AuthenticatedClient,
               form: dict[str, str]) -> dict[str, Any]:
    """The answer about `token` to the client that authenticated (RFC 7662 §2.2).

    Any token_type_hint is ignored (§2.1: it only narrows a search, and there is one kind of
    token to find: casegate's refresh tokens are opaque and never active here)."""
    token = form.get("token")
    if not token:
        raise InvalidRequestError(description="'token' is required")
    try:  # the one bearer validation, as the case API's
        principal = bearer.authenticate(source, keys, settings.base_url, settings.api_audience,
                                        token, settings.clock_skew)
    except bearer.InvalidToken:
        return dict(INACTIVE)
    claims = principal.claims
    # another client's token is "not active" for this one: no oracle for foreign tokens
    if principal.client_id != client.client_id:
        return dict(INACTIVE)
    shown = {name: claims[name] for name in SHOWN if name in claims}
    return {"active": True, "token_type": "Bearer", "username": principal.operator.id, **shown}


class IntrospectionEndpoint(_IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CONFIDENTIAL

    def create_endpoint_response(self, request: FormRequest
                                 ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client = self.authenticate_endpoint_client(request)
        assert request.session is not None
        answer = introspect(request.session, self.server.keys, self.server.settings, client,
                            request.form)
        return 200, answer, default_json_headers
