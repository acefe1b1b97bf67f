from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class SigningKey(Base):
    """A key that signs access tokens. The private half is stored encrypted (crypto.Sealer,
    bound to the kid); a retired key stays published until every token it signed has expired.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]]
    sealed_private_jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(default=now)
    retired_at: Mapped[float | None] = mapped_column(default=None)
    # retired keys: the end of the last token it may have signed (None: still current)
    published_until: Mapped[float | None] = mapped_column(default=None)
