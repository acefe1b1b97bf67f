"""The resource-server side: RFC 6750 bearer tokens, verified and checked against revocation."""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import Connection, Select, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from casegate import observe
from casegate.oauth.client_auth import Source
from casegate.oauth.keys import ALGORITHMS, KeyRing
from casegate.storage.models import (
    AccessGroup,
    ClientRegistration,
    Operator,
    RevokedToken,
    TokenProfile,
)
from casegate.storage.pg_reader import GroupRead
from casegate.storage.versions import ACCESS_VERSION

MAX_TOKEN_LENGTH = 4096
MAX_LEEWAY = 600  # settings.clock_skew is at most this


class InvalidToken(Exception):
    """Any reason a token is refused; the reason goes to logs, never to the caller."""


class InsufficientScope(Exception):
    """A valid token without the scope the call needs (RFC 6750 §3.1 insufficient_scope)."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"the access token lacks the scope {scope}")
        self.scope = scope


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    operator: Operator
    group: AccessGroup
    client_id: str
    scope: frozenset[str]
    claims: dict[str, Any]
    # the roles' and case types' version read with the live check (storage/versions.py);
    # None: not read, nothing kept
    access_version: int | None = None


class VerifiedTokens:
    """Per-process memo of tokens whose signature and header already verified.

    A client presents one token for many API calls; verifying ES256 costs about 90 µs, a
    lookup about 1 µs. Only the signature check is remembered: claims (`exp` among them),
    the deny list and the "not before" marks are checked on every request, and a key dropped
    from the key ring invalidates its tokens here too. Bounded: when full, the tokens past
    their `exp` (by more than any leeway) go first, and everything if that is not enough.
    """

    def __init__(self, size: int = 20000) -> None:
        self._size = size
        self._claims: dict[str, tuple[str, dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self._claims)

    def get(self, token: str) -> tuple[str, dict[str, Any]] | None:
        return self._claims.get(token)

    def put(self, token: str, kid: str, claims: dict[str, Any]) -> None:
        if len(self._claims) >= self._size:
            self._evict()
        self._claims[token] = (kid, claims)

    def _evict(self) -> None:
        stale = time.time() - MAX_LEEWAY
        kept = {token: known for token, known in self._claims.items()
                if _number(known[1].get("exp")) > stale}
        # a miss only costs one verification
        self._claims = kept if len(kept) < self._size // 2 else {}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


VERIFIED = VerifiedTokens()


def verify(keys: KeyRing, issuer: str, audience: str, token: str, leeway: int) -> dict[str, Any]:
    """Signature with the allow-list, `typ`, `iss`, `aud`, `exp`: no database involved."""
    known = VERIFIED.get(token)
    if known is not None and keys.verification_key(known[0]) is not None:
        return check_claims(known[1], issuer, audience, leeway)
    kid, claims = verify_signature(keys, token)
    VERIFIED.put(token, kid, claims)
    return check_claims(claims, issuer, audience, leeway)


ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")


def verify_signature(keys: KeyRing, token: str,
                     types: tuple[str, ...] = ACCESS_TOKEN_TYPES) -> tuple[str, dict[str, Any]]:
    """Signed by one of our keys, with that key's algorithm, and of one of these `typ`s
    (RFC 9068 §4 for access tokens; casegate's ID tokens are `JWT`)."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidToken("malformed")
    try:
        header = jws.extract_compact(token.encode()).protected  # unverified: picks our key
        kid = str(header.get("kid", ""))
        key = keys.verification_key(kid)
        if key is None:
            raise InvalidToken("unknown key")
        # the key's own algorithm only: no alg confusion, no `none`
        decoded = jwt.decode(token, key, algorithms=[key.alg or ALGORITHMS[0]])
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(f"bad token: {type(exc).__name__}") from exc
    if str(decoded.header.get("typ", "")).lower() not in types:
        raise InvalidToken("not a token of the expected type")
    return kid, dict(decoded.claims)


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
    if not isinstance(exp, int | float) or not isinstance(iat, int | float) \
            or isinstance(exp, bool) or isinstance(iat, bool):
        raise InvalidToken("bad times")
    now = time.time()
    # RFC 7519 §4.1.4: the token must not be accepted on or after exp
    if now >= exp + leeway:
        raise InvalidToken("expired")
    # RFC 7519 §4.1.5: nor before nbf (optional in RFC 9068, checked whenever present)
    nbf = claims.get("nbf", now)
    if not isinstance(nbf, int | float) or isinstance(nbf, bool):
        raise InvalidToken("bad times")
    if now + leeway < nbf:
        raise InvalidToken("not yet valid")
    # tokens.issued_at may stamp `iat` up to 1 s ahead, past a revocation mark
    if iat > now + max(leeway, 1):
        raise InvalidToken("issued in the future")
    return claims


# built once (statement construction cost as much as running it); one round trip checks
# the deny list and both "not before" marks. A token issued without a client (JWT bearer,
# RFC 7521 §4.1) carries its issuer as client_id: it lives while a token profile still
# accepts that issuer without a client. Core columns, not entities: loading two ORM entities
# cost more than the query (profiled); what comes back are read-only records of what callers
# read (never a password hash; the group's roles for the privilege check).
OPERATOR_COLUMNS = [Operator.id, Operator.name, Operator.kind, Operator.access_group,
                    Operator.enabled, Operator.not_before]
GROUP_COLUMNS = [AccessGroup.name, AccessGroup.roles]


def _live_query(jti: Any, sub: Any, client_id: Any, tokens: Any = None) -> Select[Any]:
    """The live check of one token (parameters), or of each row of `tokens` (its columns,
    its ordinal `n` first)."""
    columns: list[Any] = [
        ClientRegistration.enabled, ClientRegistration.not_before,
        select(RevokedToken.jti).where(RevokedToken.jti == jti).exists(),
        select(TokenProfile.name).where(TokenProfile.issuer == client_id,
                                        TokenProfile.allow_without_client).exists(),
        *OPERATOR_COLUMNS, *(c.label(f"group_{c.key}") for c in GROUP_COLUMNS),
        ACCESS_VERSION]
    if tokens is None:
        query = select(*columns).select_from(Operator).where(Operator.id == sub)
    else:
        query = (select(tokens.c.n, *columns).select_from(tokens)
                 .join(Operator, Operator.id == sub))
    return (query.join(AccessGroup, AccessGroup.name == Operator.access_group)
            .outerjoin(ClientRegistration, ClientRegistration.client_id == client_id))


LIVE_NAMES = ("jti", "sub", "client_id")
LIVE_QUERY = _live_query(*(bindparam(name) for name in LIVE_NAMES))
# PostgreSQL: the live checks of the requests of one moment in one statement
# (storage/pg_reader.GroupRead), one array per parameter, a row per token still live enough
# to have its operator (the others' ordinals are missing)
_TOKENS = (func.unnest(*(bindparam(name, type_=ARRAY(String)) for name in LIVE_NAMES))
           .table_valued(*LIVE_NAMES, with_ordinality="n").render_derived(name="tokens"))
LIVE_MANY = _live_query(_TOKENS.c.jti, _TOKENS.c.sub, _TOKENS.c.client_id, tokens=_TOKENS)
OPERATOR_NAMES = [c.key for c in OPERATOR_COLUMNS]
GROUP_AT = 4 + len(OPERATOR_NAMES)
GROUP_NAMES = [c.key for c in GROUP_COLUMNS]
# the row's columns as attributes: read-only stand-ins for the entities of their tables
OperatorRecord = namedtuple("OperatorRecord", OPERATOR_NAMES)  # type: ignore[misc]
GroupRecord = namedtuple("GroupRecord", GROUP_NAMES)  # type: ignore[misc]
Live = tuple[Operator, AccessGroup, int | None]


def live_params(claims: dict[str, Any]) -> dict[str, str]:
    return {name: str(claims[name]) for name in LIVE_NAMES}


def check_live(source: Source, claims: dict[str, Any]) -> Live:
    """The shared state every process sees: deny list and "not before" marks, and the
    access version (storage/versions.py). One query, read now (never remembered), through
    the request's session or connection or a plain reader (storage/reader.py)."""
    params = live_params(claims)
    if isinstance(source, Session | Connection):
        row: Sequence[Any] | None = source.execute(LIVE_QUERY, params).first()
    else:
        row = source.first(LIVE_QUERY, params)
    return judge_live(claims, row)


def judge_live(claims: dict[str, Any], row: Sequence[Any] | None) -> Live:
    """The token's live check from its row of LIVE_QUERY (None: no such operator)."""
    if row is None:
        raise InvalidToken("operator gone")
    client_enabled, client_not_before, is_revoked, without_client = row[:4]
    # typed as the entities whose columns they carry (attribute reads only)
    operator = cast(Operator, OperatorRecord._make(row[4:GROUP_AT]))
    group = cast(AccessGroup, GroupRecord._make(row[GROUP_AT:-1]))
    iat = claims["iat"]
    if is_revoked:
        raise InvalidToken("revoked")
    if client_enabled is None and not without_client:
        raise InvalidToken("client gone")
    if client_enabled is not None and (not client_enabled or iat < client_not_before):
        raise InvalidToken("client disabled or its tokens revoked")
    if not operator.enabled or iat < operator.not_before:
        raise InvalidToken("operator disabled or its tokens revoked")
    return operator, group, row[-1]


def authenticate(source: Source, keys: KeyRing, issuer: str, audience: str, token: str,
                 leeway: int) -> Principal:
    """The one bearer validation: the case API, userinfo, introspection and the fast fronts
    (web/fast_path.py) all call it (or authenticate_gathered, its form for a group read)."""
    claims = verify(keys, issuer, audience, token, leeway)
    return _principal(claims, check_live(source, claims))


async def authenticate_gathered(reads: GroupRead, keys: KeyRing, issuer: str, audience: str,
                                token: str, leeway: int) -> Principal:
    """authenticate, its live check read with those of the other requests of the moment
    (reads: a GroupRead of LIVE_MANY), by a statement sent after this request arrived."""
    claims = verify(keys, issuer, audience, token, leeway)
    return _principal(claims, judge_live(claims, await reads.first(live_params(claims))))


def _principal(claims: dict[str, Any], live: Live) -> Principal:
    operator, group, access_version = live
    observe.note(client_id=str(claims["client_id"]), operator=operator.id)
    scope = frozenset(str(claims.get("scope", "")).split())
    return Principal(operator, group, str(claims["client_id"]), scope, claims, access_version)


def require_scope(principal: Principal, scope: str) -> None:
    """The one scope check of a protected resource: the case API, the deny list, userinfo
    and the fast front of POST /cases call it, before they read the request's body."""
    if scope not in principal.scope:
        raise InsufficientScope(scope)
