"""A plain psycopg read connection for the event loop's thread, on PostgreSQL: the lookups of
the token endpoint's fast front (web/fast_token.py), as storage/reader.py does on SQLite.

Through the pooled engine a token's lookup cost a threadpool hop, a pool checkout and three
round trips (BEGIN, the query, ROLLBACK on return). Here it is one: an autocommit connection
(each read sees what is committed now), the statement prepared on the server once. The
statements are SQLAlchemy's own, compiled once for PostgreSQL, and values come back
converted as SQLAlchemy converts them.

The read runs on the event loop, so it is bounded: the server cancels it after
STATEMENT_TIMEOUT_MS, and a silent network after TCP_TIMEOUT_MS. Any failure drops the
connection and raises ReaderError (the caller then takes the pooled engine, which answers 503
while the database is out); connect() opens a new one, called off the event loop.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from sqlalchemy import URL, Select
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from casegate.storage.reader import Cache, compile_once

DIALECT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]
STATEMENT_TIMEOUT_MS = 250
TCP_TIMEOUT_MS = 2000
# after a failed connect, the pooled engine serves (and reports the outage) this long
RETRY_AFTER_S = 1.0


class ReaderError(Exception):
    """The read did not happen; the caller reads through the pooled engine instead."""


class PostgresReader:
    """One connection per process, used on the event loop's thread only; opened lazily by
    connect(), from a worker thread (connecting is several round trips and may wait)."""

    def __init__(self, url: URL) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: psycopg.Connection[Any] | None = None
        self._compiled: Cache = {}
        self._connecting = threading.Lock()
        self._retry_at = 0.0

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self) -> None:
        """Open the connection if there is none (and the last try is not too recent); never
        raises: until it is open, reads go through the pooled engine."""
        if self._conn is not None or time.monotonic() < self._retry_at:
            return
        if not self._connecting.acquire(blocking=False):
            return  # another thread is opening it: no thread waits for that
        try:
            if self._conn is None:
                self._conn = psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=5,
                    tcp_user_timeout=TCP_TIMEOUT_MS,
                    options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        except psycopg.Error:
            self._retry_at = time.monotonic() + RETRY_AFTER_S
        finally:
            self._connecting.release()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def rows(self, statement: Select[Any], params: dict[str, Any] | None = None,
             ) -> list[tuple[Any, ...]]:
        """The rows as tuples, in the statement's column order."""
        conn = self._conn
        if conn is None:
            raise ReaderError("no connection")
        compiled = compile_once(self._compiled, statement, DIALECT)
        try:
            found = conn.execute(compiled.text, params or {}, prepare=True).fetchall()
        except psycopg.Error as exc:
            if conn.closed or conn.broken:
                self._conn = None  # the next pooled read that succeeds opens another
                conn.close()
            raise ReaderError(str(exc)) from exc
        return [compiled.row(row) for row in found]

    def first(self, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(statement, params)
        return found[0] if found else None
