"""The state of grants made by people: codes, refresh tokens, consents, sign-in sessions.

Every secret here (code, refresh token, session cookie) is stored as its SHA-256 digest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class TokenFamily(Base):
    """One grant of a person to a client: every token issued from one code or one password
    request, through all its refreshes. Reuse of a rotated refresh token or a replayed code
    revokes the whole family."""

    __tablename__ = "token_families"
    __table_args__ = (Index("ix_token_families_operator_id", "operator_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client_registrations.client_id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    scope: Mapped[str] = mapped_column(String(1000), default="")
    auth_time: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[float] = mapped_column(default=now)
    # refresh tokens of the family die at this instant, however often they were rotated
    expires_at: Mapped[float] = mapped_column(default=0.0)
    revoked_at: Mapped[float | None] = mapped_column(default=None)
    # [jti, exp] of each access token issued, so revoking the family can deny-list them
    access_tokens: Mapped[list[Any]] = mapped_column(JSON, default=list)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"
    __table_args__ = (Index("ix_authorization_codes_expires_at", "expires_at"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client_registrations.client_id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    family_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    # RFC 6749 §4.1.3: the token request repeats redirect_uri when the request had it
    redirect_uri_given: Mapped[bool] = mapped_column(default=True)
    scope: Mapped[str] = mapped_column(String(1000), default="")
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(8), default=None)
    nonce: Mapped[str | None] = mapped_column(String(500), default=None)
    auth_time: Mapped[float] = mapped_column(default=0.0)
    expires_at: Mapped[float] = mapped_column(default=0.0)
    used_at: Mapped[float | None] = mapped_column(default=None)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(ForeignKey("token_families.id"))
    issued_at: Mapped[float] = mapped_column(default=now)
    # set when the token is exchanged: presenting it again is reuse
    used_at: Mapped[float | None] = mapped_column(default=None)


class Consent(Base):
    """What an operator agreed to let a client do: remembered, and revocable."""

    __tablename__ = "consents"

    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client_registrations.client_id"),
                                           primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    granted_at: Mapped[float] = mapped_column(default=now)


class SignInSession(Base):
    """A browser's sign-in at the authorization endpoint (the cookie holds the secret)."""

    __tablename__ = "signin_sessions"
    __table_args__ = (Index("ix_signin_sessions_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    auth_time: Mapped[float] = mapped_column(default=now)
    expires_at: Mapped[float] = mapped_column(default=0.0)
