"""RFC 6749 §4.4: the client acts as its registration's service operator."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants

from casegate.oauth import scopes
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import InvalidGrantError, UnauthorizedClientError
from casegate.oauth.tokens import Grant, issue_access_token


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL

    def validate_token_request(self) -> None:
        client: AuthenticatedClient = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError()
        operator = client.operator
        if operator is None or operator.kind != "service":
            raise InvalidGrantError(description="no service operator")
        if not operator.enabled:
            raise InvalidGrantError(description="operator disabled")
        self.request.client = client
        allowed = scopes.allowed(client.registration, client.group)
        self.request.scope = scopes.issued(
            self.request.session, self.request.payload.data.get("scope"), allowed
        )

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: AuthenticatedClient = self.request.client
        registration, operator = client.registration, client.operator
        assert operator is not None
        grant = Grant(
            client_id=registration.client_id,
            operator_id=operator.id,
            scope=self.request.scope,
            lifetime=registration.token_lifetime,
            not_before=max(registration.not_before, operator.not_before),
        )
        server = self.server
        token = issue_access_token(server.keys, server.issuer, server.settings.api_audience, grant)
        server.audit.add("token.issued", actor=operator.id, subject=registration.client_id,
                         grant_type=self.GRANT_TYPE, scope=grant.scope)
        return 200, token, self.TOKEN_RESPONSE_HEADER
