"""A plain psycopg read connection for the event loop's thread, on PostgreSQL: the lookups of
the token endpoint's fast front (web/fast_token.py), as storage/reader.py does on SQLite.

Through the pooled engine a token's lookup cost a threadpool hop, a pool checkout and three
round trips (BEGIN, the query, ROLLBACK on return). Here it is one: an autocommit connection
(each read sees what is committed now), each statement prepared on the server once. The
statements are SQLAlchemy's own, compiled once for PostgreSQL, and values come back
converted as SQLAlchemy converts them.

A read goes straight to libpq (PQexecPrepared, the GIL released while it waits) with
psycopg's own adapters for the values: psycopg's cursor layer cost twice as much CPU per
read as the read itself (130 to 200 µs against 60 to 90, measured). JSON columns come back
as text and are decoded here, the same few texts remembered (storage/reader.py).

The read runs on the event loop, so it is bounded: the server cancels it after
STATEMENT_TIMEOUT_MS, and a silent network after TCP_TIMEOUT_MS. Any failure raises
ReaderError (the caller then takes the pooled engine, which answers 503 while the database is
out), and a broken connection is dropped; connect() opens a new one, called off the event
loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any, cast

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.string import TextLoader
from sqlalchemy import URL, Select
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from casegate.storage.reader import Compiled

# $1, $2 …: libpq's own placeholders (positiontup names them in order)
DIALECT = pg_psycopg.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
STATEMENT_TIMEOUT_MS = 250
TCP_TIMEOUT_MS = 2000
# after a failed connect, the pooled engine serves (and reports the outage) this long
RETRY_AFTER_S = 1.0


class ReaderError(Exception):
    """The read did not happen; the caller reads through the pooled engine instead."""


class _Live:
    """One open connection and what belongs to it: the statements prepared on it by name,
    and the adapters that dump parameters and load rows."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        for json_type in ("json", "jsonb"):  # as text: Compiled decodes them, remembered
            conn.adapters.register_loader(json_type, TextLoader)
        self.conn = conn
        self.pgconn = conn.pgconn
        self.adapt = Transformer(conn)
        self.prepared: dict[int, tuple[Select[Any], Compiled, bytes]] = {}


class PostgresReader:
    """One connection per process, used on the event loop's thread only; opened lazily by
    connect(), from a worker thread (connecting is several round trips and may wait)."""

    def __init__(self, url: URL) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._live: _Live | None = None
        self._connecting = threading.Lock()
        self._retry_at = 0.0

    @property
    def connected(self) -> bool:
        return self._live is not None

    def connect(self) -> None:
        """Open the connection if there is none (and the last try is not too recent); never
        raises: until it is open, reads go through the pooled engine."""
        if self._live is not None or time.monotonic() < self._retry_at:
            return
        if not self._connecting.acquire(blocking=False):
            return  # another thread is opening it: no thread waits for that
        try:
            if self._live is None:
                self._live = _Live(psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=5,
                    tcp_user_timeout=TCP_TIMEOUT_MS,
                    options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"))
        except psycopg.Error:
            self._retry_at = time.monotonic() + RETRY_AFTER_S
        finally:
            self._connecting.release()

    def close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.conn.close()

    def rows(self, statement: Select[Any], params: dict[str, Any] | None = None,
             ) -> list[tuple[Any, ...]]:
        """The rows as tuples, in the statement's column order."""
        live = self._live
        if live is None:
            raise ReaderError("no connection")
        pgconn = live.pgconn
        try:
            known = live.prepared.get(id(statement))
            if known is None or known[0] is not statement:
                compiled = Compiled(statement, DIALECT, json_text=True)
                name = f"casegate_read_{len(live.prepared)}".encode()
                _check(pgconn.prepare(name, compiled.text.encode()), pq.ExecStatus.COMMAND_OK)
                known = live.prepared[id(statement)] = (statement, compiled, name)
            _, compiled, name = known
            values = [(params or {})[key] for key in compiled.params]
            dumped = live.adapt.dump_sequence(values, [PyFormat.TEXT] * len(values))
            # (None is SQL NULL to libpq, as psycopg's own cursors pass it)
            result = pgconn.exec_prepared(name, cast(Sequence[bytes], dumped))
            _check(result, pq.ExecStatus.TUPLES_OK)
            live.adapt.set_pgresult(result)
            found = live.adapt.load_rows(0, result.ntuples, tuple)
        except (psycopg.Error, ReaderError) as exc:
            if pgconn.status != pq.ConnStatus.OK:
                self._live = None  # the next pooled read that succeeds opens another
                live.conn.close()
            raise ReaderError(str(exc)) from exc
        return [compiled.row(row) for row in found]

    def first(self, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(statement, params)
        return found[0] if found else None


class GroupRead:
    """The reads of one statement that the requests of one moment ask for, sent as one.

    A request's read waits for the next turn of the event loop; then one statement answers
    every read asked for meanwhile: `many` takes one array per parameter (the reads' values,
    in order) and answers at most one row per read, its ordinal (from 1) first. One round
    trip on the event loop for a handful of requests instead of one each, and PostgreSQL
    runs one statement for them. Every read is sent after its request asked for it: nothing
    is answered from an earlier read.
    """

    def __init__(self, reader: PostgresReader, many: Select[Any], names: Sequence[str]) -> None:
        self.reader, self.many, self.names = reader, many, tuple(names)
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[tuple[Any, ...] | None]]] = []

    async def first(self, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The read's row (without its ordinal), or None; ReaderError when the statement
        failed."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((params, future))
        if len(self._waiting) == 1:  # after the requests the loop runs in this turn
            future.get_loop().call_soon(self._send)
        row: tuple[Any, ...] | None = await future
        return row

    def _send(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            found = self.reader.rows(self.many, {
                name: [params[name] for params, _ in waiting] for name in self.names})
        except Exception as exc:  # each read fails, none waits forever; the callers decline
            for _, future in waiting:
                if not future.done():
                    future.set_exception(ReaderError(str(exc)))
            return
        rows = {row[0]: row[1:] for row in found}
        for n, (_, future) in enumerate(waiting, 1):
            if not future.done():  # (a request that went away)
                future.set_result(rows.get(n))


def _check(result: pq.abc.PGresult, expected: pq.ExecStatus) -> None:
    if result.status != expected:
        raise ReaderError(result.get_error_message() or f"status {result.status}")
