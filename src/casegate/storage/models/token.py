from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class RevokedToken(Base):
    """The deny list: revoked access-token IDs, kept until the token would have expired."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float]
    reason: Mapped[str] = mapped_column(String(64), default="revoked")
    revoked_at: Mapped[float] = mapped_column(default=now)
