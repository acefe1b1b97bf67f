"""Engines and transactions: SQLite (WAL) by default, PostgreSQL to scale out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from casegate.errors import NotFound

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # hide_parameters: an error's message (logged) never carries a value, hashed or not
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True,
                         hide_parameters=True)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # endpoints run in a threadpool, so a connection may move between threads
    # enough pooled connections for the threadpool's concurrency: an overflow connection is
    # closed after each use, and opening one (with its PRAGMAs) costs more than the query
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=40, max_overflow=20, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(conn: Any, _record: Any) -> None:
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives an OS crash too; NORMAL would only survive a process crash
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def get_or_raise(session: Session, model: type[T], key: str, what: str) -> T:
    """The row with this primary key, or NotFound naming it as users know it."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(what, key)
    return row


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed before the caller acknowledges anything."""
    with factory() as session, session.begin():
        yield session
