"""RFC 7009 token revocation, and revoking every token of a client or an operator at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from sqlalchemy import delete
from sqlalchemy.orm import Session

from casegate import audit
from casegate.oauth import bearer
from casegate.oauth.errors import InvalidGrantError, InvalidRequestError
from casegate.oauth.requests import FormRequest
from casegate.storage.models import ClientRegistration, Operator, RevokedToken


@dataclass(frozen=True)
class AccessToken:
    claims: dict[str, Any]

    def check_client(self, client: Any) -> bool:
        return bool(self.claims["client_id"] == client.client_id)


def deny(session: Session, claims: dict[str, Any], reason: str = "revoked") -> None:
    """Put one access token on the deny list until it would have expired anyway."""
    if session.get(RevokedToken, claims["jti"]) is None:
        session.add(RevokedToken(jti=claims["jti"], client_id=claims["client_id"],
                                 expires_at=float(claims["exp"]), reason=reason))
    # the deny list only needs tokens that could still be presented
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < time.time() - 3600))


def revoke_client_tokens(session: Session, client: ClientRegistration) -> None:
    """Every token issued to the client so far fails from now on, in every process."""
    client.not_before = time.time()


def revoke_operator_tokens(session: Session, operator: Operator) -> None:
    operator.not_before = time.time()


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def check_params(self, request: FormRequest, client: Any) -> None:
        # RFC 7009 §2.1: an unknown token_type_hint is ignored, not an error
        if not request.form.get("token"):
            raise InvalidRequestError(description="'token' is required")

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        server = self.server
        try:
            claims = bearer.verify(server.keys, server.issuer, server.settings.api_audience,
                                   token_string, leeway=0)
        except bearer.InvalidToken:
            return None  # unknown, foreign or already expired: nothing to revoke (§2.2)
        return AccessToken(claims)

    def authenticate_token(self, request: FormRequest, client: Any) -> AccessToken | None:
        try:
            return super().authenticate_token(request, client)  # type: ignore[no-any-return]
        except InvalidGrantError:
            server = self.server
            server.audit.add("token.revoke", actor=client.client_id, outcome="refused",
                             reason="token of another client")
            raise

    def revoke_token(self, token: AccessToken, request: FormRequest) -> None:
        assert request.session is not None
        deny(request.session, token.claims)
        audit.record(request.session, "token.revoked", actor=token.claims["client_id"],
                     subject=token.claims["jti"], operator=token.claims["sub"])

