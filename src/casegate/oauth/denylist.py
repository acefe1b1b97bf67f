"""Revoking access tokens, which are self-contained JWTs: a deny list of their IDs (kept until
they would have expired anyway) and "not before" marks per client and per operator."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.errors import Invalid
from casegate.oauth import bearer
from casegate.oauth.keys import KeyRing
from casegate.storage.models import AuditEvent, ClientRegistration, RevokedToken

# no access token of casegate lives longer than a client's longest allowed lifetime
LONGEST_LIFETIME = 366 * 24 * 3600
MAX_REASON = 64


def deny(session: Session, claims: dict[str, Any], reason: str = "revoked") -> None:
    """Put one access token on the deny list until it would have expired anyway."""
    if session.get(RevokedToken, claims["jti"]) is None:
        session.add(RevokedToken(jti=claims["jti"], client_id=claims["client_id"],
                                 expires_at=float(claims["exp"]), reason=reason[:64]))
    # the deny list only needs tokens that could still be accepted: an hour past exp covers
    # settings.clock_skew (at most 600 s)
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < time.time() - 3600))


def revoke_client_tokens(session: Session, client: ClientRegistration) -> None:
    """Every token issued to the client so far fails from now on, in every process."""
    client.not_before = time.time()


def add_suspicious(session: Session, keys: KeyRing, token_or_jti: str, reason: str,
                   actor: str = "") -> RevokedToken:
    """An administrator's entry: an access token of ours (its signature checked, expired or
    not) or only its ID, with why.

    A bare ID may name a token issued any time before now: it is kept as long as the longest
    token could live."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON or not reason.isprintable():
        raise Invalid("reason", f"say why, in 1 to {MAX_REASON} printable characters")
    jti = token_or_jti.strip()
    claims: dict[str, Any] | None = None
    if jti.count(".") == 2:
        try:
            claims = bearer.verify_signature(keys, jti)[1]
        except bearer.InvalidToken as exc:
            raise Invalid("token", "not an access token signed by this casegate") from exc
        if not all(isinstance(claims.get(n), str) for n in ("jti", "client_id")) or \
                not isinstance(claims.get("exp"), int | float):
            raise Invalid("token", "the token lacks its jti, client_id or exp")
    if claims is None:
        if not jti or len(jti) > 64 or not jti.isascii() or not jti.isprintable() or " " in jti:
            raise Invalid("token", "a token ID (jti) is 1 to 64 printable ASCII characters")
        claims = {"jti": jti, "client_id": "", "exp": time.time() + LONGEST_LIFETIME}
    deny(session, claims, reason)
    audit.record(session, "token.denied", actor=actor, subject=str(claims["jti"]),
                 reason=reason, client=claims["client_id"])
    row = session.get(RevokedToken, claims["jti"])
    assert row is not None
    return row


def listed(session: Session, limit: int = 500) -> list[tuple[RevokedToken, str]]:
    """The live deny list, newest first, each with who put it there (from the audit log)."""
    rows = list(session.scalars(select(RevokedToken).where(
        RevokedToken.expires_at > time.time()).order_by(RevokedToken.revoked_at.desc())
        .limit(limit)))
    who = dict(session.execute(select(AuditEvent.subject, AuditEvent.actor).where(
        AuditEvent.event.in_(("token.denied", "token.revoked")),
        AuditEvent.subject.in_([r.jti for r in rows]))).all())
    return [(row, who.get(row.jti, "")) for row in rows]


def describe(row: RevokedToken, by: str) -> dict[str, Any]:
    return {"jti": row.jti, "client_id": row.client_id, "reason": row.reason, "by": by,
            "revoked_at": row.revoked_at, "expires_at": row.expires_at}
