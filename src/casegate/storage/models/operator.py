from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class Role(Base):
    """Privileges on case types, as Pega's access roles grant them."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    privileges: Mapped[list[str]] = mapped_column(default=list)
    case_types: Mapped[list[str]] = mapped_column(default=list)  # class names, or ["*"]
    # pxGetCases / pxUpdateCase reach every case of those types, or only the operator's own
    read_all: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[float] = mapped_column(default=now)


class AccessGroup(Base):
    """What its operators may do: roles, and the scopes their tokens may carry."""

    __tablename__ = "access_groups"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    roles: Mapped[list[str]] = mapped_column(default=list)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[float] = mapped_column(default=now)


class Operator(Base):
    """A person (can sign in) or a service operator reserved for one client (cannot)."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))  # "person" | "service"
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    access_group: Mapped[str] = mapped_column(ForeignKey("access_groups.name"))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # the identity mapping that created it just in time: only that one may update it
    provisioned_by: Mapped[str | None] = mapped_column(String(128), default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    # tokens issued before this instant fail (disabled, password changed)
    not_before: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[float] = mapped_column(default=now)
