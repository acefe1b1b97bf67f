from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class ServerState(Base):
    """Named values every process shares: the readiness heartbeat (a row /readyz writes to
    prove the database takes a write)."""

    __tablename__ = "server_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(2000), default="")
    updated_at: Mapped[float] = mapped_column(default=now)
