"""The authorization code grant (RFC 6749 §4.1.3, PKCE per RFC 7636)."""

from __future__ import annotations

import time
from typing import Any

from casegate import crypto
from casegate.oauth import families
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import CommitFirst, InvalidGrantError, oauth_error
from casegate.oauth.grants.person import PersonGrant, pkce_matches, use_once
from casegate.storage.models import AuthorizationCode, TokenFamily


class AuthorizationCodeGrant(PersonGrant):
    """RFC 6749 §4.1.3 with RFC 7636; OpenID Connect's ID token when `openid` was granted."""

    GRANT_TYPE = "authorization_code"
    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL, "none"]

    def validate_token_request(self) -> None:
        client = self.client_for_grant()
        form = self.request.form
        value = form.get("code", "")
        if not value:
            raise oauth_error("invalid_request", "'code' is required")
        code = self.session.get(AuthorizationCode, crypto.digest(value))
        if code is None or code.client_id != client.client_id:
            raise InvalidGrantError(description="unknown code")
        if not use_once(self.session, AuthorizationCode.code_hash, code.code_hash):
            # RFC 6749 §4.1.2: a code used twice revokes what was issued from it
            family = self.session.get(TokenFamily, code.family_id)
            if family is not None:
                families.revoke(self.session, family, "code replayed")
            raise CommitFirst(InvalidGrantError(description="code already used"))
        if code.expires_at <= time.time():
            raise InvalidGrantError(description="code expired")
        given = form.get("redirect_uri")
        if (code.redirect_uri_given or given is not None) and given != code.redirect_uri:
            raise InvalidGrantError(description="redirect_uri differs from the request's")
        verifier = form.get("code_verifier")
        if code.code_challenge is None:
            if verifier is not None:  # RFC 9700 §4.8.2: PKCE downgrade
                raise InvalidGrantError(description="no code_challenge was sent")
        elif verifier is None or not pkce_matches(
                verifier, code.code_challenge, code.code_challenge_method or "S256"):
            raise InvalidGrantError(description="code_verifier does not match")
        self.code = code

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        code = self.code
        client: AuthenticatedClient = self.request.client
        operator = self.live_operator(code.operator_id, code.auth_time)
        family = families.start(self.session, client.registration, operator, code.scope,
                                code.auth_time, family_id=code.family_id)
        return self.respond(family, client.registration, operator, code.nonce,
                            with_id_token=True)
