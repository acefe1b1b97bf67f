from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base


class Version(Base):
    """Counters that database triggers bump at every change of what they name, so that
    every process may keep what it read until the counter moves (storage/versions.py)."""

    __tablename__ = "versions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
