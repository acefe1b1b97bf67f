"""Tokens issued to a client for a person, grouped in families (one per code or password
request) so that a replayed code or a reused refresh token can revoke all of them at once
(RFC 6749 §4.1.2, RFC 9700 §4.14.2)."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit, crypto
from casegate.access import operators
from casegate.oauth.denylist import deny
from casegate.oauth.keys import KeyRing
from casegate.oauth.tokens import Grant, access_claims, sign, token_response
from casegate.storage.models import ClientRegistration, Operator, RefreshToken, TokenFamily

OIDC_SCOPES = ("openid", "profile")


def start(session: Session, client: ClientRegistration, operator: Operator, scope: str,
          auth_time: float, family_id: str | None = None) -> TokenFamily:
    family = TokenFamily(id=family_id or crypto.token_id(), client_id=client.client_id,
                         operator_id=operator.id, scope=scope, auth_time=auth_time,
                         created_at=time.time(),
                         expires_at=time.time() + client.refresh_lifetime, access_tokens=[])
    session.add(family)
    session.flush()  # before its refresh tokens, which reference it (no ORM relationship)
    return family


def issue(keys: KeyRing, issuer: str, audience: str, session: Session, family: TokenFamily,
          client: ClientRegistration, operator: Operator, nonce: str | None = None,
          with_id_token: bool = False, scope: str | None = None) -> dict[str, Any]:
    """An access token (and a refresh token when the client may refresh, and an ID token
    for `openid`), recorded in the family; `scope` narrows the access token's."""
    scope = family.scope if scope is None else scope
    grant = Grant(client_id=client.client_id, operator_id=operator.id, scope=scope,
                  lifetime=client.token_lifetime,
                  not_before=max(client.not_before, operator.not_before))
    claims = access_claims(issuer, audience, grant)
    access_token = sign(keys, claims, "at+jwt")
    now = time.time()
    # a fresh list, so the ORM sees the change; expired entries need no revoking any more
    family.access_tokens = [t for t in family.access_tokens if float(t[1]) > now] + [
        [grant.jti, claims["exp"]]]
    token = token_response(access_token, grant)
    if "refresh_token" in client.grant_types:
        value = crypto.new_secret()
        session.add(RefreshToken(token_hash=crypto.digest(value), family_id=family.id,
                                 issued_at=now))
        token["refresh_token"] = value
    if with_id_token and "openid" in family.scope.split():
        token["id_token"] = id_token(keys, issuer, client.client_id, operator, family,
                                     claims["iat"], grant.lifetime, nonce, access_token)
    return token


def id_token(keys: KeyRing, issuer: str, client_id: str, operator: Operator,
             family: TokenFamily, iat: int, lifetime: int, nonce: str | None,
             access_token: str) -> str:
    """OpenID Connect Core §2 and §3.1.3.6 (at_hash)."""
    claims: dict[str, Any] = {
        "iss": issuer, "sub": operator.id, "aud": client_id, "azp": client_id,
        "iat": iat, "exp": iat + lifetime, "auth_time": int(family.auth_time),
        "at_hash": left_half_hash(access_token),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if "profile" in family.scope.split():
        claims["name"] = operator.name
    return sign(keys, claims, "JWT")


def left_half_hash(value: str) -> str:
    # ES256 and RS256, the only algorithms casegate signs with, both hash with SHA-256
    half = hashlib.sha256(value.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def revoke(session: Session, family: TokenFamily, reason: str) -> None:
    """Every refresh token of the family dies, and every access token still live is denied."""
    now = time.time()
    if family.revoked_at is None:
        family.revoked_at = now
    for jti, exp in family.access_tokens:
        if float(exp) > now:
            deny(session, {"jti": jti, "client_id": family.client_id, "exp": exp}, reason)
    audit.record(session, "grant.revoked",
                 actor=session.info.get(audit.ACTOR) or family.operator_id,
                 subject=family.client_id, reason=reason, family=family.id)


def revoke_between(session: Session, operator_id: str, client_id: str | None,
                   reason: str) -> int:
    """Every live family of an operator (with one client, or all): consent withdrawn,
    password changed."""
    query = select(TokenFamily).where(TokenFamily.operator_id == operator_id,
                                      TokenFamily.revoked_at.is_(None))
    if client_id is not None:
        query = query.where(TokenFamily.client_id == client_id)
    families = list(session.scalars(query))
    for family in families:
        revoke(session, family, reason)
    return len(families)


def change_password(session: Session, operator_id: str, password: str,
                    actor: str = "") -> Operator:
    """SECURITY Decision 6: a new password ends the person's sessions and revokes their
    tokens, refresh tokens included."""
    operator = operators.set_password(session, operator_id, password, actor)
    revoke_between(session, operator_id, None, "password changed")
    return operator
