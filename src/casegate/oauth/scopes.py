"""The issued scope: what was asked ∩ what the client may ask ∩ what the access group allows."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from casegate.oauth.errors import oauth_error
from casegate.storage.models import AccessGroup, ClientRegistration
from casegate.storage.pg_reader import PostgresReader
from casegate.storage.reader import SqliteReader


def allowed(registration: ClientRegistration | None, group: AccessGroup | None) -> list[str]:
    """None: no client registration (a JWT bearer grant without client authentication)."""
    granted = list(group.scopes) if group is not None else []
    if registration is not None and registration.scopes:
        granted = [s for s in granted if s in registration.scopes]
    return granted


# OpenID Connect's scopes: a person may always let a client know who they are
OIDC = ("openid", "profile")


def for_person(registration: ClientRegistration, group: AccessGroup | None) -> list[str]:
    oidc = [s for s in OIDC if not registration.scopes or s in registration.scopes]
    return allowed(registration, group) + oidc


GROUP_SCOPES = select(AccessGroup.scopes)


def known_scopes(session: Session | Connection | SqliteReader | PostgresReader) -> set[str]:
    if isinstance(session, SqliteReader | PostgresReader):
        lists = [row[0] for row in session.rows(GROUP_SCOPES)]
    else:
        lists = list(session.scalars(GROUP_SCOPES))
    return {s for scopes in lists for s in scopes} | set(OIDC)


def malformed(asked: str) -> bool:
    """RFC 6749 §3.3: scope tokens separated by single spaces, none empty."""
    return not asked or any(not s for s in asked.split(" "))


def issued(session: Session | Connection | SqliteReader | PostgresReader, asked: str | None,
           allowed_scopes: list[str]) -> str:
    if asked is None:  # OpenID Connect is asked for by name, never implied
        return " ".join(sorted(s for s in allowed_scopes if s not in OIDC))
    if malformed(asked):
        raise oauth_error("invalid_scope", "scope is malformed")
    wanted = set(asked.split(" "))
    granted = sorted(wanted.intersection(allowed_scopes))
    # an allowed scope is a known one (a group's, or OpenID Connect's): only a scope asked
    # beyond them needs every group's scopes read, to tell unknown (an error) from not
    # allowed (dropped). So a request asking what it may have reads none.
    if len(granted) < len(wanted):
        unknown = sorted(wanted - known_scopes(session))
        if unknown:
            raise oauth_error("invalid_scope", f"unknown scope: {unknown[0][:64]}")
    if not granted:
        raise oauth_error("invalid_scope", "none of the requested scopes is allowed")
    return " ".join(granted)
