"""RFC 9068: access tokens are JWTs that carry the operator."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from casegate.crypto import token_id
from casegate.oauth.keys import KeyRing


@dataclass(frozen=True)
class Grant:
    """What a token is issued for, whatever the grant type."""

    client_id: str
    operator_id: str
    scope: str
    lifetime: int
    # the latest "not before" mark of the client and the operator (see issued_at)
    not_before: float = 0.0
    jti: str = field(default_factory=token_id)


def issued_at(not_before: float) -> int:
    # `iat` has whole seconds; a token issued in the same second as a revocation mark must
    # still pass it, so it is stamped at the mark's next whole second (at most 1 s ahead)
    return max(int(time.time()), math.ceil(not_before))


def access_claims(issuer: str, audience: str, grant: Grant) -> dict[str, Any]:
    iat = issued_at(grant.not_before)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": grant.operator_id,
        "aud": audience,
        "client_id": grant.client_id,
        "iat": iat,
        "exp": iat + grant.lifetime,
        "jti": grant.jti,
    }
    if grant.scope:
        claims["scope"] = grant.scope
    return claims


def sign(keys: KeyRing, claims: dict[str, Any], typ: str) -> str:
    """A compact JWS with the current key; header alg, typ and kid (RFC 9068 §2.1)."""
    return keys.signer().sign(claims, typ)


def token_response(access_token: str, grant: Grant) -> dict[str, Any]:
    """RFC 6749 §5.1's body for one access token."""
    token: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": grant.lifetime,
    }
    if grant.scope:
        token["scope"] = grant.scope
    return token


def issue_access_token(keys: KeyRing, issuer: str, audience: str, grant: Grant) -> dict[str, Any]:
    return token_response(sign(keys, access_claims(issuer, audience, grant), "at+jwt"), grant)
