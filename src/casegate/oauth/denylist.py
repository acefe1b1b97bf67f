"""Revoking access tokens, which are self-contained JWTs: a deny list of their IDs (kept until
they would have expired anyway) and "not before" marks per client and per operator."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from casegate.storage.models import ClientRegistration, Operator, RevokedToken


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


def revoke_operator_tokens(session: Session, operator: Operator) -> None:
    operator.not_before = time.time()
