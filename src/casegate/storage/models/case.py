from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class CaseType(Base):
    __tablename__ = "case_types"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the class name
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    class_group: Mapped[str] = mapped_column(String(200))
    next_number: Mapped[int] = mapped_column(default=1)
    processes: Mapped[list[str]] = mapped_column(default=lambda: ["pyStartCase"])
    # optional JSON Schema (draft 2020-12) that a case's content must satisfy
    json_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # a remote case type: cases live on this remote system (a producer casegate)
    remote_system: Mapped[str | None] = mapped_column(ForeignKey("remote_systems.name"),
                                                      default=None)
    created_at: Mapped[float] = mapped_column(default=now)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_created_by", "created_by"),)

    id: Mapped[str] = mapped_column(String(260), primary_key=True)  # "CLASS-GROUP PREFIX-N"
    case_type: Mapped[str] = mapped_column(ForeignKey("case_types.id"))
    business_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(64), default="New")
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(128))
    created_via: Mapped[str] = mapped_column(String(64))  # client ID
    updated_by: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[float] = mapped_column(default=now)
    updated_at: Mapped[float] = mapped_column(default=now)
