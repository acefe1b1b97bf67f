from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base


class FailureCount(Base):
    """Failed authentications per (what, address) in a fixed window, shared by all processes."""

    __tablename__ = "failure_counts"
    __table_args__ = (Index("ix_failure_counts_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[float]
    count: Mapped[int] = mapped_column(default=0)
