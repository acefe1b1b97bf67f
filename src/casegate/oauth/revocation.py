"""RFC 7009 token revocation: access tokens go on the deny list; a refresh token takes its
whole family with it (the access tokens issued from the same grant too, §2.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from casegate import audit, crypto
from casegate.oauth import bearer, families
from casegate.oauth.client_auth import CONFIDENTIAL
from casegate.oauth.denylist import deny
from casegate.oauth.errors import InvalidGrantError, InvalidRequestError
from casegate.oauth.requests import FormRequest
from casegate.storage.models import RefreshToken, TokenFamily


@dataclass(frozen=True)
class AccessToken:
    claims: dict[str, Any]

    def check_client(self, client: Any) -> bool:
        return bool(self.claims["client_id"] == client.client_id)


@dataclass(frozen=True)
class FamilyToken:
    """A refresh token, standing for its family."""

    family: TokenFamily

    def check_client(self, client: Any) -> bool:
        return bool(self.family.client_id == client.client_id)


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    # public clients may revoke their own tokens with client_id alone (RFC 7009 §5)
    CLIENT_AUTH_METHODS = [*CONFIDENTIAL, "none"]

    def check_params(self, request: FormRequest, client: Any) -> None:
        # RFC 7009 §2.1: an unknown token_type_hint is ignored, not an error
        if not request.form.get("token"):
            raise InvalidRequestError(description="'token' is required")

    def find(self, request: FormRequest) -> AccessToken | FamilyToken | None:
        token_string = request.form["token"]
        if token_string.count(".") != 2:  # not a JWT: perhaps a refresh token
            session = request.session
            assert session is not None
            row = session.get(RefreshToken, crypto.digest(token_string))
            family = session.get(TokenFamily, row.family_id) if row is not None else None
            return FamilyToken(family) if family is not None else None
        server = self.server
        try:
            claims = bearer.verify(server.keys, server.issuer, server.settings.api_audience,
                                   token_string, server.settings.clock_skew)
        except bearer.InvalidToken:
            return None  # unknown, foreign or already expired: nothing to revoke (§2.2)
        return AccessToken(claims)

    def authenticate_token(self, request: FormRequest, client: Any
                           ) -> AccessToken | FamilyToken | None:
        self.check_params(request, client)
        token = self.find(request)
        if token is not None and not token.check_client(client):
            # Decision 5: another client's token is refused, and stays valid
            self.server.audit.add("token.revoke", actor=client.client_id, outcome="refused",
                                  reason="token of another client")
            raise InvalidGrantError()
        return token

    def revoke_token(self, token: AccessToken | FamilyToken, request: FormRequest) -> None:
        assert request.session is not None
        if isinstance(token, FamilyToken):
            families.revoke(request.session, token.family, "refresh token revoked")
            return
        deny(request.session, token.claims)
        audit.record(request.session, "token.revoked", actor=token.claims["client_id"],
                     subject=token.claims["jti"], operator=token.claims["sub"])
