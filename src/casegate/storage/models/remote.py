"""Remote case types: the producers a consumer casegate forwards to, and the idempotency keys
a producer keeps so a retried create never makes a second case."""

from __future__ import annotations

from sqlalchemy import Index, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class RemoteSystem(Base):
    """Another casegate (the producer) and the client registration made for us there."""

    __tablename__ = "remote_systems"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))  # https://producer:port
    token_endpoint: Mapped[str] = mapped_column(String(2000))
    client_id: Mapped[str] = mapped_column(String(64))
    # AES-GCM under a key derived from the secret key, which lives outside the database
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # a private CA (PEM) the producer's certificate chains to; none: the system's trust store
    cacert: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[float] = mapped_column(default=now)
    updated_at: Mapped[float] = mapped_column(default=now, onupdate=now)


class IdempotencyKey(Base):
    """A create already answered for (client, operator, Idempotency-Key), kept 24 h."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("client_id", "operator_id", "key"),
                      Index("ix_idempotency_keys_expires_at", "expires_at"))

    client_id: Mapped[str] = mapped_column(String(500))
    operator_id: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the header's value
    case_id: Mapped[str] = mapped_column(String(260))
    expires_at: Mapped[float]
