"""RFC 6749 §4.4: the client acts as its registration's service operator.

decide() is the grant's one decision, and issue() its one answer: the full token endpoint
(authlib's dispatch, below) and the token endpoint's fast front (web/fast_token.py) both
call them, after the one client authentication (oauth/client_auth.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from authlib.oauth2.rfc6749 import grants
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from casegate import observe
from casegate.audit import BatchedAudit
from casegate.oauth import scopes
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import InvalidGrantError, UnauthorizedClientError
from casegate.oauth.keys import KeyRing
from casegate.oauth.tokens import Grant, issue_access_token
from casegate.settings import Settings
from casegate.storage.pg_reader import PostgresReader
from casegate.storage.reader import SqliteReader

GRANT_TYPE = "client_credentials"


class Issuer(Protocol):
    """What issuing needs (the authorization server holds it)."""

    keys: KeyRing
    audit: BatchedAudit
    settings: Settings

    @property
    def issuer(self) -> str: ...


def decide(source: Session | Connection | SqliteReader | PostgresReader,
           client: AuthenticatedClient,
           asked: str | None) -> Grant:
    """What an authenticated client gets: its grant type allowed, its service operator
    enabled, the issued scope (oauth/scopes.py), the latest "not before" mark."""
    if not client.check_grant_type(GRANT_TYPE):
        raise UnauthorizedClientError()
    operator = client.operator
    if operator is None or operator.kind != "service":
        raise InvalidGrantError(description="no service operator")
    if not operator.enabled:
        raise InvalidGrantError(description="operator disabled")
    registration = client.registration
    scope = scopes.issued(source, asked, scopes.allowed(registration, client.group))
    return Grant(client_id=registration.client_id, operator_id=operator.id, scope=scope,
                 lifetime=registration.token_lifetime,
                 not_before=max(registration.not_before, operator.not_before))


def issue(server: Issuer, grant: Grant) -> dict[str, Any]:
    """The signed token and its audit event."""
    observe.note(client_id=grant.client_id, operator=grant.operator_id)
    token = issue_access_token(server.keys, server.issuer, server.settings.api_audience, grant)
    server.audit.add("token.issued", actor=grant.operator_id, subject=grant.client_id,
                     grant_type=GRANT_TYPE, scope=grant.scope)
    return token


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL

    def validate_token_request(self) -> None:
        client: AuthenticatedClient = self.authenticate_token_endpoint_client()
        self.request.client = client
        self.grant = decide(self.request.session, client, self.request.payload.data.get("scope"))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return 200, issue(self.server, self.grant), self.TOKEN_RESPONSE_HEADER
