"""What the grants through which a person lets a client act for them share: authorization
code (with PKCE, grants/authorization_code.py), refresh token (rotated, with reuse detection,
grants/refresh_token.py) and, by explicit opt-in, password (grants/password.py).

authlib's own classes for these are in the way (SECURITY.md: PKCE optional for confidential
clients and `plain` by default, no refresh rotation, code reuse left to the developer), so
each is a token-endpoint grant of authlib's dispatch with casegate's rules written in it."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any

from authlib.oauth2.rfc6749.grants.base import BaseGrant, TokenEndpointMixin
from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute, Session

from casegate import crypto
from casegate.oauth import families
from casegate.oauth.client_auth import CONFIDENTIAL, AuthenticatedClient
from casegate.oauth.errors import (
    InvalidGrantError,
    UnauthorizedClientError,
)
from casegate.storage.models import (
    ClientRegistration,
    Operator,
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
