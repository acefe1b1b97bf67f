"""The refresh token grant (RFC 6749 §6), rotated on every use."""

from __future__ import annotations

import time
from typing import Any

from casegate import crypto
from casegate.oauth import families
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import CommitFirst, InvalidGrantError, oauth_error
from casegate.oauth.grants.person import PersonGrant, use_once
from casegate.storage.models import RefreshToken, TokenFamily


class RefreshTokenGrant(PersonGrant):
    """RFC 6749 §6, rotated on every use; a rotated-out token presented again is reuse and
    revokes its family (RFC 9700 §4.14.2)."""

    GRANT_TYPE = "refresh_token"
    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL, "none"]

    def validate_token_request(self) -> None:
        client = self.client_for_grant()
        value = self.request.form.get("refresh_token", "")
        if not value:
            raise oauth_error("invalid_request", "'refresh_token' is required")
        row = self.session.get(RefreshToken, crypto.digest(value))
        family = self.session.get(TokenFamily, row.family_id) if row is not None else None
        if row is None or family is None or family.client_id != client.client_id:
            raise InvalidGrantError(description="unknown refresh token")
        if family.revoked_at is not None:
            raise InvalidGrantError(description="refresh token revoked")
        if not use_once(self.session, RefreshToken.token_hash, row.token_hash):
            families.revoke(self.session, family, "refresh token reused")
            raise CommitFirst(InvalidGrantError(description="refresh token already used"))
        if family.expires_at <= time.time():
            raise InvalidGrantError(description="refresh token expired")
        if row.issued_at < client.registration.not_before:
            raise InvalidGrantError(description="the client's tokens were revoked")
        asked = self.request.form.get("scope")
        if asked is not None:
            # RFC 6749 §6: a narrower scope may be asked, never a wider one
            wanted = set(asked.split(" "))
            if not asked or not wanted <= set(family.scope.split()):
                raise oauth_error("invalid_scope", "the scope exceeds the original grant")
        self.family, self.row, self.asked = family, row, asked

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: AuthenticatedClient = self.request.client
        operator = self.live_operator(self.family.operator_id, self.row.issued_at)
        # the access token may be narrower; the family (and so the next refresh) keeps the
        # original scope (RFC 6749 §6)
        narrowed = None if self.asked is None else " ".join(sorted(set(self.asked.split(" "))))
        return self.respond(self.family, client.registration, operator, scope=narrowed)
