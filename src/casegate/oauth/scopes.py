"""The issued scope: what was asked ∩ what the client may ask ∩ what the access group allows."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from casegate.oauth.errors import oauth_error
from casegate.storage.models import AccessGroup, ClientRegistration


def allowed(registration: ClientRegistration, group: AccessGroup | None) -> list[str]:
    granted = list(group.scopes) if group is not None else []
    if registration.scopes:
        granted = [s for s in granted if s in registration.scopes]
    return granted


def known_scopes(session: Session | Connection) -> set[str]:
    return {s for scopes in session.scalars(select(AccessGroup.scopes)) for s in scopes}


def issued(session: Session | Connection, asked: str | None, allowed_scopes: list[str]) -> str:
    if asked is None:
        return " ".join(sorted(allowed_scopes))
    wanted = asked.split(" ")
    if not asked or any(not s for s in wanted):
        raise oauth_error("invalid_scope", "scope is malformed")
    unknown = sorted(set(wanted) - known_scopes(session))
    if unknown:
        raise oauth_error("invalid_scope", f"unknown scope: {unknown[0][:64]}")
    granted = sorted({s for s in wanted if s in allowed_scopes})
    if not granted:
        raise oauth_error("invalid_scope", "none of the requested scopes is allowed")
    return " ".join(granted)
