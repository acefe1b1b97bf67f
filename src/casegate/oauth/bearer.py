"""The resource-server side: RFC 6750 bearer tokens, verified and checked against revocation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate.oauth.keys import ALGORITHMS, KeyRing
from casegate.storage.models import AccessGroup, ClientRegistration, Operator, RevokedToken

MAX_TOKEN_LENGTH = 4096


class InvalidToken(Exception):
    """Any reason a token is refused; the reason goes to logs, never to the caller."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    operator: Operator
    group: AccessGroup
    client_id: str
    scope: frozenset[str]
    claims: dict[str, Any]


def verify(keys: KeyRing, issuer: str, audience: str, token: str, leeway: int) -> dict[str, Any]:
    """Signature with the allow-list, `typ`, `iss`, `aud`, `exp`: no database involved."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidToken("malformed")
    try:
        header = jws.extract_compact(token.encode()).protected  # unverified: picks our key
        key = keys.verification_key(str(header.get("kid", "")))
        if key is None:
            raise InvalidToken("unknown key")
        # the key's own algorithm only: no alg confusion, no `none`
        decoded = jwt.decode(token, key, algorithms=[key.alg or ALGORITHMS[0]])
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(f"bad token: {type(exc).__name__}") from exc
    if str(decoded.header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("not an access token")
    return check_claims(decoded.claims, issuer, audience, leeway)


def check_claims(claims: dict[str, Any], issuer: str, audience: str, leeway: int) -> dict[str, Any]:
    for name in ("iss", "sub", "aud", "exp", "iat", "jti", "client_id"):
        if name not in claims:
            raise InvalidToken(f"no {name}")
    if claims["iss"] != issuer:
        raise InvalidToken("wrong issuer")
    aud = claims["aud"]
    if audience not in (aud if isinstance(aud, list) else [aud]):
        raise InvalidToken("wrong audience")
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise InvalidToken("bad times")
    now = time.time()
    # RFC 7519 §4.1.4: the token must not be accepted on or after exp
    if now >= exp + leeway:
        raise InvalidToken("expired")
    if iat > now + leeway:
        raise InvalidToken("issued in the future")
    return claims


def check_live(session: Session, claims: dict[str, Any]) -> tuple[Operator, AccessGroup]:
    """The shared state every process sees: deny list and "not before" marks. One query."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == claims["jti"]).exists()
    row = session.execute(
        select(ClientRegistration.enabled, ClientRegistration.not_before, Operator, AccessGroup,
               revoked)
        .select_from(ClientRegistration)
        .join(Operator, Operator.id == claims["sub"])
        .join(AccessGroup, AccessGroup.name == Operator.access_group)
        .where(ClientRegistration.client_id == claims["client_id"])
    ).first()
    if row is None:
        raise InvalidToken("client or operator gone")
    client_enabled, client_not_before, operator, group, is_revoked = row
    iat = claims["iat"]
    if is_revoked:
        raise InvalidToken("revoked")
    if not client_enabled or iat < client_not_before:
        raise InvalidToken("client disabled or its tokens revoked")
    if not operator.enabled or iat < operator.not_before:
        raise InvalidToken("operator disabled or its tokens revoked")
    return operator, group


def authenticate(session: Session, keys: KeyRing, issuer: str, audience: str, token: str,
                 leeway: int) -> Principal:
    claims = verify(keys, issuer, audience, token, leeway)
    operator, group = check_live(session, claims)
    scope = frozenset(str(claims.get("scope", "")).split())
    return Principal(operator, group, str(claims["client_id"]), scope, claims)
