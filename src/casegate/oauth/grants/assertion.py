"""What the two assertion grants share (RFC 7521 §4.1): a client bound to an identity
mapping, the assertion used once, the operator it maps to, and the token."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.grants.base import BaseGrant, TokenEndpointMixin
from sqlalchemy.orm import Session

from casegate.access import identity
from casegate.errors import CasegateError
from casegate.oauth import replay, scopes
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import UnauthorizedClientError, explained, oauth_error
from casegate.oauth.tokens import Grant, issue_access_token
from casegate.storage.models import AccessGroup, ClientRegistration, IdentityMapping, Operator

MAX_ASSERTION = 64 * 1024  # larger assertions are refused before any parsing
CLIENT_FIELDS = ("client_id", "client_secret", "client_assertion", "client_assertion_type")


class AssertionGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL
    MAPPING_TYPE = ""

    @property
    def session(self) -> Session:
        session: Session | None = self.request.session
        assert session is not None
        return session

    @property
    def skew(self) -> int:
        return int(self.server.settings.clock_skew)

    def assertion(self) -> str:
        value: str = self.request.form.get("assertion", "")
        if not value:
            raise oauth_error("invalid_request", "'assertion' is required")
        if len(value) > MAX_ASSERTION:
            raise explained("invalid_grant", "the assertion is larger than 64 KiB")
        return value

    def sent_client_credentials(self) -> bool:
        form = self.request.form
        return bool(self.request.headers.get("authorization")) or any(
            name in form for name in CLIENT_FIELDS)

    def bound_client(self) -> tuple[AuthenticatedClient, IdentityMapping]:
        """The authenticated client, allowed this grant, and its identity mapping."""
        client: AuthenticatedClient = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError()
        self.request.client = client
        mapping = self.session.get(IdentityMapping, client.registration.identity_mapping or "")
        if mapping is None or mapping.type != self.MAPPING_TYPE:
            raise explained("invalid_grant", "the client registration has no identity mapping "
                                             f"of type {self.MAPPING_TYPE}")
        return client, mapping

    def use_once(self, issuer: str, identifier: str | None, assertion: str,
                 expires_at: float) -> None:
        key = replay.key_of(self.MAPPING_TYPE, issuer, identifier, assertion)
        if not replay.use_once(self.session, key, expires_at):
            raise explained("invalid_grant", "the assertion was already used")

    def operator_for(self, mapping: IdentityMapping, subject: str, rows: dict[str, str],
                     values: dict[str, object], via: str) -> Operator:
        """The operator the subject names; `rows` map the assertion's values to its fields."""
        try:
            fields = identity.mapped_fields(rows, values)
            return identity.map_operator(self.session, mapping, subject, fields, via)
        except CasegateError as exc:
            raise explained("invalid_grant", exc.message) from exc

    def prepare(self, client_id: str, registration: ClientRegistration | None,
                operator: Operator) -> None:
        """The scope (oauth/scopes.py, as every grant) and what the token is issued for."""
        group = self.session.get(AccessGroup, operator.access_group)
        scope = scopes.issued(self.session, self.request.form.get("scope"),
                              scopes.allowed(registration, group))
        settings = self.server.settings
        self.grant = Grant(
            client_id=client_id, operator_id=operator.id, scope=scope,
            lifetime=registration.token_lifetime if registration else settings.token_lifetime,
            not_before=max(registration.not_before if registration else 0.0,
                           operator.not_before))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        server, grant = self.server, self.grant
        token = issue_access_token(server.keys, server.issuer, server.settings.api_audience,
                                   grant)
        server.audit.add("token.issued", actor=grant.operator_id, subject=grant.client_id,
                         grant_type=self.GRANT_TYPE, scope=grant.scope)
        return 200, token, self.TOKEN_RESPONSE_HEADER
