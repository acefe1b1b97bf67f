"""RFC 7521 §5.2 / RFC 7523 §3 / RFC 7522 §3: an assertion is used once. The store is a
table every process shares; an entry lives until its assertion would have expired."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casegate.storage.models import UsedAssertion


def key_of(kind: str, issuer: str, identifier: str | None, assertion: str) -> str:
    """(issuer, jti) or (issuer, assertion ID); an assertion without one, such as
    google-auth's, is known by its own SHA-256."""
    if identifier:
        material = "\x00".join((kind, issuer, identifier))
    else:
        material = "\x00".join((kind, "sha256", assertion))
    return hashlib.sha256(material.encode()).hexdigest()


def use_once(session: Session, key: str, expires_at: float) -> bool:
    """Record the assertion as used, atomically: False when it was used before (of two
    requests racing with one assertion, exactly one gets True)."""
    purge(session)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(UsedAssertion).values(key=key, expires_at=expires_at)
    # RETURNING, not rowcount: a row comes back only when this INSERT wrote it
    inserted = session.execute(statement.on_conflict_do_nothing(index_elements=["key"])
                               .returning(UsedAssertion.key)).first()
    return inserted is not None


def purge(session: Session, now: float | None = None) -> None:
    """Entries of assertions that have expired can go: the assertion fails on its own."""
    now = time.time() if now is None else now
    session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
