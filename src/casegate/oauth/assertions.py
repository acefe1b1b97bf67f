"""RFC 7523: a JWT assertion, verified against what an administrator chose to trust.

One verifier for both uses: the JWT bearer grant (§2.1, trust from a token profile) and
`private_key_jwt` client authentication (§2.2, trust from a client registration's keys).
Only the configured keys are used: `jku`, `x5u`, `jwk` and `x5c` headers are never read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, OKPKey, RSAKey, import_key
from joserfc.jwt import JWTClaimsRegistry

from casegate.access.trust import ALGORITHMS, DEFAULT_ALGORITHMS, DEFAULT_MAX_LIFETIME
from casegate.oauth import jwks_fetch

MAX_ASSERTION = 16 * 1024
MAX_JTI = 256
# RFC 8725 §3.11: an access token (or any other typed JWT) is not an assertion
ASSERTION_TYPES = ("", "jwt", "application/jwt")
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "EdDSA": "Ed25519"}
Key = RSAKey | ECKey | OKPKey


class AssertionRefused(Exception):
    """Why an assertion is refused, in words safe to send back (never the input itself)."""


@dataclass(frozen=True)
class Trust:
    """What an assertion must satisfy: its issuer, keys, algorithms, audiences, lifetime."""

    issuer: str
    audiences: tuple[str, ...]
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    cacert: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    max_lifetime: int = DEFAULT_MAX_LIFETIME
    subject: str | None = None  # a client assertion's `sub` is the client ID (§3)
    claim_checks: dict[str, Any] = field(default_factory=dict)
    required_claims: tuple[str, ...] = ()


def unverified_issuer(assertion: str) -> str:
    """The `iss` an assertion claims, only to choose which trust to check it against."""
    try:
        issuer = json.loads(jws.extract_compact(assertion.encode()).payload).get("iss")
    except (JoseError, ValueError, AttributeError, UnicodeError) as exc:
        raise AssertionRefused("the assertion is not a JWT") from exc
    if not isinstance(issuer, str) or not issuer:
        raise AssertionRefused("the assertion has no issuer")
    return issuer


def import_keys(document: dict[str, Any]) -> list[Key]:
    """The asymmetric signing keys of a JWKS; anything else (oct, enc, malformed) is left out,
    so a key set never mixes symmetric and asymmetric keys."""
    keys: list[Key] = []
    for entry in document.get("keys", []):
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP") \
                or entry.get("use", "sig") != "sig" or "d" in entry:
            continue
        try:
            key = import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        if isinstance(key, RSAKey | ECKey | OKPKey):
            keys.append(key)
    return keys


def candidate_keys(trust: Trust, alg: str, kid: str | None) -> list[Key]:
    if trust.jwks is not None:
        document = trust.jwks
    elif trust.jwks_url:
        try:
            document = jwks_fetch.CACHE.get(trust.jwks_url, trust.cacert, kid)
        except jwks_fetch.JwksUnavailable as exc:
            raise AssertionRefused(str(exc)) from exc
    else:
        raise AssertionRefused("no keys are configured")
    kty = KEY_TYPES[alg[:2]]
    return [key for key in import_keys(document)
            if key.key_type == kty and (kid is None or key.kid == kid)
            and (kty == "RSA" or key.as_dict().get("crv") == CURVES[alg])]


def header_of(assertion: str, trust: Trust) -> tuple[str, str | None]:
    if len(assertion) > MAX_ASSERTION:
        raise AssertionRefused(f"the assertion is larger than {MAX_ASSERTION // 1024} KiB")
    if assertion.count(".") != 2:
        raise AssertionRefused("the assertion is not a signed JWT")
    try:
        header = jws.extract_compact(assertion.encode()).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise AssertionRefused("the assertion is not a signed JWT") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in trust.algorithms or alg not in ALGORITHMS:
        raise AssertionRefused("the assertion's algorithm is not allowed")
    if str(header.get("typ", "")).lower() not in ASSERTION_TYPES:
        raise AssertionRefused("the JWT is of another type (not an assertion)")
    kid = header.get("kid")
    return alg, kid if isinstance(kid, str) else None


def verify_signature(assertion: str, trust: Trust) -> dict[str, Any]:
    alg, kid = header_of(assertion, trust)
    for key in candidate_keys(trust, alg, kid):
        try:
            token = jwt.decode(assertion, key, algorithms=[alg])
        except BadSignatureError:
            continue
        except JoseError as exc:
            raise AssertionRefused("the assertion is malformed") from exc
        return dict(token.claims)
    raise AssertionRefused("the assertion's signature does not verify with the trusted keys")


def check_claims(claims: dict[str, Any], trust: Trust, skew: int, now: float) -> None:
    registry = JWTClaimsRegistry(
        now=int(now), leeway=skew,
        iss={"essential": True, "value": trust.issuer},
        sub={"essential": True, **({"value": trust.subject} if trust.subject else {})},
        aud={"essential": True, "values": list(trust.audiences)},
        exp={"essential": True})
    try:
        registry.validate(claims)
    except MissingClaimError as exc:
        raise AssertionRefused(f"the assertion lacks the claim {exc.claim}") from exc
    except ExpiredTokenError as exc:
        raise AssertionRefused("the assertion has expired") from exc
    except JoseError as exc:
        claim = getattr(exc, "claim", "")
        raise AssertionRefused(f"the assertion's {claim or 'claims'} is not accepted") from exc
    check_times(claims, trust, skew, now)
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI):
        raise AssertionRefused("the assertion's jti is not accepted")
    check_profile_claims(claims, trust)


def check_times(claims: dict[str, Any], trust: Trust, skew: int, now: float) -> None:
    exp = claims["exp"]
    # RFC 7519 §4.1.4: not accepted on or after exp (joserfc lets exp == now through)
    if now >= exp + skew:
        raise AssertionRefused("the assertion has expired")
    iat = claims.get("iat")
    start = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else now
    if exp - start > trust.max_lifetime:
        raise AssertionRefused(f"the assertion lives longer than {trust.max_lifetime} s")


def check_profile_claims(claims: dict[str, Any], trust: Trust) -> None:
    """The token profile's claims validation rows: present, or equal to a constant."""
    for name in trust.required_claims:
        if claims.get(name) in (None, "", [], {}):
            raise AssertionRefused(f"the assertion lacks the claim {name}")
    for name, expected in trust.claim_checks.items():
        value = claims.get(name)
        # constants are strings (from the command line); a number or boolean is compared
        # as its JSON text, a list by membership
        matches = (expected in value if isinstance(value, list) else value == expected
                   or (value is not None and not isinstance(value, str)
                       and json.dumps(value) == expected))
        if not matches:
            raise AssertionRefused(f"the assertion's claim {name} does not have the required value")


def verify(assertion: str, trust: Trust, skew: int = 60, now: float | None = None
           ) -> dict[str, Any]:
    """The verified claims, or AssertionRefused saying what failed."""
    claims = verify_signature(assertion, trust)
    check_claims(claims, trust, skew, time.time() if now is None else now)
    return claims
