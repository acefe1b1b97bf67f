"""Engines and transactions: SQLite (WAL) by default, PostgreSQL to scale out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from casegate.errors import NotFound
from casegate.storage.checkpoint import Checkpointer
from casegate.storage.group_commit import FileLock, sqlite_lock_path
from casegate.storage.pg_reader import PostgresReader
from casegate.storage.reader import SqliteReader

T = TypeVar("T")


def make_engine(url: str, threads: int = 4) -> Engine:
    """`threads`: how many threads of the process do database work at once (the threadpool's
    size); a server engine pools that many connections, and two for the audit writer and
    the readiness check."""
    # hide_parameters: a database error in the log never shows a statement's values (hashes,
    # a person's name, case content)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # No pool_pre_ping: it costs a round trip per checkout. A connection the server dropped
    # (a restart) fails its statement instead; SQLAlchemy then sees a disconnect, discards
    # every connection pooled before it, and that one unit of work ends in a database
    # outage (503 with Retry-After, storage/outage.py) while the next ones connect afresh.
    return create_engine(url, pool_size=threads + 2, max_overflow=threads,
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
        # no checkpoint inside a commit: the process's checkpoint thread runs them
        # (storage/checkpoint.py)
        cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    lock = sqlite_lock_path(engine)
    if lock is not None:
        checkpoints = Checkpointer(Path(path), FileLock(lock))
        event.listen(engine, "commit", lambda _conn: checkpoints.committed())
    return engine


# where a read runs: the request's session or connection, or a plain reader on the event
# loop's thread (storage/reader.py, storage/pg_reader.py)
Reads = Session | Connection | SqliteReader | PostgresReader


def loop_readers(engine: Engine) -> tuple[SqliteReader | None, PostgresReader | None]:
    """The plain readers for the event loop's thread on the engine's database: an SQLite
    file's, or PostgreSQL's (its connection opened later, by connect())."""
    url = engine.url
    path = url.database or ""
    if url.get_backend_name() == "sqlite":
        return (SqliteReader(path) if path and path != ":memory:" else None), None
    return None, (PostgresReader(url) if url.get_backend_name() == "postgresql" else None)


def read_rows(source: Reads, statement: Select[*tuple[Any, ...]], params: dict[str, Any]
              ) -> Sequence[Sequence[Any]]:
    """The statement's rows (each with its columns in order) through any of them."""
    if isinstance(source, Session):  # Core on its connection: no ORM layer for plain rows
        source = source.connection()
    if isinstance(source, Connection):
        return source.execute(statement, params).all()
    return source.rows(statement, params)


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
