from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class ClientRegistration(Base):
    __tablename__ = "client_registrations"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # HMAC-SHA-256 of the secret under a key kept outside the database
    secret_hash: Mapped[str] = mapped_column(String(64))
    # the previous secret, still accepted until old_secret_until (a chosen grace period)
    old_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    old_secret_until: Mapped[float] = mapped_column(default=0.0)
    grant_types: Mapped[list[str]] = mapped_column(default=list)
    operator_id: Mapped[str | None] = mapped_column(ForeignKey("operators.id"), default=None)
    scopes: Mapped[list[str]] = mapped_column(default=list)  # empty: the access group's
    # matched by exact string comparison (RFC 9700 §2.1); for the authorization code grant
    redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    token_lifetime: Mapped[int] = mapped_column(default=3600)
    # public clients (apps that cannot keep a secret) have none and must use PKCE
    public: Mapped[bool] = mapped_column(default=False)
    # PKCE "plain" only when explicitly allowed (SECURITY Decision 2)
    allow_plain_pkce: Mapped[bool] = mapped_column(default=False)
    # absolute lifetime of a refresh-token family, seconds (SECURITY Decision 7: 30 days)
    refresh_lifetime: Mapped[int] = mapped_column(default=30 * 24 * 3600)
    # where RP-initiated logout may send the browser back to (exact match)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    # assertion grants: the identity mapping that turns an assertion into an operator
    identity_mapping: Mapped[str | None] = mapped_column(
        ForeignKey("identity_mappings.name"), default=None)
    # "secret" (client_secret_basic or _post) or "private_key_jwt" (RFC 7523 §2.2, with these keys)
    auth_method: Mapped[str] = mapped_column(String(32), default="secret")
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    jwks_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    jwks_cacert: Mapped[str | None] = mapped_column(Text, default=None)
    application: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    # tokens issued before this instant fail (secret regenerated, "revoke all tokens")
    not_before: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[float] = mapped_column(default=now)
    updated_at: Mapped[float] = mapped_column(default=now, onupdate=now)
