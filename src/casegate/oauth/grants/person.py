"""The grants through which a person lets a client act for them: authorization code (with
PKCE), refresh token (rotated, with reuse detection) and, by explicit opt-in, password.

authlib's own classes for these are in the way (SECURITY.md: PKCE optional for confidential
clients and `plain` by default, no refresh rotation, code reuse left to the developer), so
each is a token-endpoint grant of authlib's dispatch with casegate's rules written here."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any

from authlib.oauth2.rfc6749.grants.base import BaseGrant, TokenEndpointMixin
from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute, Session

from casegate import audit, crypto
from casegate.access import signin
from casegate.oauth import families, scopes
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import (
    CommitFirst,
    InvalidGrantError,
    UnauthorizedClientError,
    oauth_error,
)
from casegate.storage.models import (
    AccessGroup,
    AuthorizationCode,
    ClientRegistration,
    Operator,
    RefreshToken,
    TokenFamily,
)

# RFC 7636 §4.1: 43 to 128 unreserved characters
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if not VERIFIER.fullmatch(verifier):
        return False
    computed = s256(verifier) if method == "S256" else verifier
    return crypto.equal(computed, challenge)


def use_once(session: Session, key: InstrumentedAttribute[str], value: str) -> bool:
    """Mark a code or refresh token used, atomically: of two requests racing with one, exactly
    one wins; False for the other, and for any later use (reuse)."""
    model = key.class_
    result = session.execute(
        update(model).where(key == value, model.used_at.is_(None))
        .values(used_at=time.time()).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class PersonGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL

    @property
    def session(self) -> Session:
        session: Session | None = self.request.session
        assert session is not None
        return session

    def client_for_grant(self) -> AuthenticatedClient:
        client: AuthenticatedClient = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError()
        self.request.client = client
        return client

    def live_operator(self, operator_id: str, since: float) -> Operator:
        """The person still may use what they granted at `since` (not disabled since, no
        password change since)."""
        operator = self.session.get(Operator, operator_id)
        if operator is None or not operator.enabled or since < operator.not_before:
            raise InvalidGrantError(description="the operator is disabled or signed out")
        return operator

    def respond(self, family: TokenFamily, client: ClientRegistration, operator: Operator,
                nonce: str | None = None, with_id_token: bool = False,
                scope: str | None = None) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        server = self.server
        token = families.issue(server.keys, server.issuer, server.settings.api_audience,
                               self.session, family, client, operator, nonce, with_id_token,
                               scope)
        server.audit.add("token.issued", actor=operator.id, subject=client.client_id,
                         grant_type=self.GRANT_TYPE, scope=token.get("scope", ""))
        return 200, token, self.TOKEN_RESPONSE_HEADER


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


class PasswordGrant(PersonGrant):
    """RFC 6749 §4.3, which RFC 9700 §2.4 says must not be used: off unless a client is
    explicitly allowed it, confidential clients only, throttled like the sign-in page."""

    GRANT_TYPE = "password"

    def validate_token_request(self) -> None:
        client = self.client_for_grant()
        form = self.request.form
        username, password = form.get("username", ""), form.get("password", "")
        if not username or not password:
            raise oauth_error("invalid_request", "'username' and 'password' are required")
        try:
            operator = signin.check_password(self.server.factory, username, password,
                                             self.request.address, "password")
        except signin.Throttled as exc:
            error = oauth_error("invalid_grant", "too many failed sign-ins; retry later", 429)
            error.retry_after = exc.wait
            raise error from exc
        except signin.SignInFailed as exc:
            raise InvalidGrantError(description=str(exc)) from exc
        operator = self.live_operator(operator.id, time.time())
        group = self.session.get(AccessGroup, operator.access_group)
        self.scope = scopes.issued(self.session, form.get("scope"),
                                   scopes.allowed(client.registration, group))
        self.operator = operator

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: AuthenticatedClient = self.request.client
        family = families.start(self.session, client.registration, self.operator, self.scope,
                                time.time())
        audit.record(self.session, "grant.password", actor=self.operator.id,
                     subject=client.client_id)
        return self.respond(family, client.registration, self.operator)
