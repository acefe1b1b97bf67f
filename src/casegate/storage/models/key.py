from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class SigningKey(Base):
    """A key that signs access tokens; retired keys stay published until their tokens expire."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[float] = mapped_column(default=now)
    retired_at: Mapped[float | None] = mapped_column(default=None)
