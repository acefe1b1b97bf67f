"""RFC 7662 token introspection: a client may look at the tokens issued to it."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from casegate.oauth import bearer
from casegate.oauth.client_auth import CONFIDENTIAL
from casegate.oauth.errors import InvalidRequestError
from casegate.oauth.requests import FormRequest

SHOWN = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")


class IntrospectionEndpoint(_IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CONFIDENTIAL

    def check_params(self, request: FormRequest, client: Any) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError(description="'token' is required")

    def authenticate_token(self, request: FormRequest, client: Any) -> dict[str, Any] | None:
        self.check_params(request, client)
        server = self.server
        assert request.session is not None
        try:  # the one bearer validation, as the case API's
            principal = bearer.authenticate(request.session, server.keys, server.issuer,
                                            server.settings.api_audience, request.form["token"],
                                            server.settings.clock_skew)
        except bearer.InvalidToken:
            return None
        claims, operator = principal.claims, principal.operator
        # another client's token is "not active" for this one: no oracle for foreign tokens
        if claims["client_id"] != client.client_id:
            return None
        return dict(claims, username=operator.id)

    def create_introspection_payload(self, token: dict[str, Any] | None) -> dict[str, Any]:
        if token is None:
            return {"active": False}
        body = {name: token[name] for name in SHOWN if name in token}
        return {"active": True, "token_type": "Bearer", "username": token["username"], **body}
