"""Group commit: writes that many requests make at once, committed together by one thread.

A request queues its write and waits; the writer thread takes everything queued, runs it in
one transaction and commits, then answers each request: a request is answered only after
its write is durable, as with a transaction of its own, but N requests cost one commit (one
fsync on SQLite) instead of N. On SQLite the transaction begins IMMEDIATE, and the writer
threads of all processes on one database take turns on an OS lock on a file beside it
(fcntl.flock): the next writer wakes as soon as the lock is free, where SQLite's busy
handler would sleep up to 100 ms a try (that sleep was most of POST /cases' p99).

A write is a function `write(conn, items) -> results` (one result per item, in order)
called with all the queued items that share it, the batch's writes first all together;
when one raises, the transaction is rolled back and the batch written again, each write in a
savepoint and, when it raises again, each of its items alone in one, so one bad item fails
only its own request.

A write wrapped in OneStatement is one statement per call (for each group of items its key
puts together): on PostgreSQL the writer calls it on an autocommit connection, so each call
is its own transaction, committed by the server at the end of the statement with no round
trip while its locks are held (the case counter's row lock, which the other processes'
writers wait for); a call that fails wrote nothing, and its items are written again, each
alone. On SQLite it is a write like any other.

A request on an event loop waits with `write` (a coroutine): the writer answers all of a
batch's requests of one loop by one call into that loop, instead of a wake-up of the loop
(a write to its self-pipe, from this thread) for each.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger("casegate.storage")
T = TypeVar("T")
R = TypeVar("R")
Write = Callable[[Connection, Sequence[Any]], Sequence[Any]]
# one transaction holds at most this many writes: a bounded wait for the first of them
BATCH = 256
IDLE_SECONDS = 30.0  # the thread ends when idle this long; the next write starts one
# PostgreSQL, under load (the last batch committed less than this ago): the writer waits up
# to this long for more writes before it sends a batch, as PostgreSQL's own commit_delay
# does. A batch's statement costs about the same for one case as for ten (the round trip,
# the executor's start, psycopg's dumping of each array); with the case counter's lock held
# for one statement only, batches were one write each, and the CPU per case of the server
# and of PostgreSQL went up (bench/results/pgcases-2026-11-30.md)
GATHER_SECONDS = 0.002


class FileLock:
    """An exclusive lock on a file, shared by every process that opens the same path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits

    def __exit__(self, *exc: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)


def sqlite_lock_path(engine: Engine) -> Path | None:
    """The lock file beside an SQLite database file; None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".write-lock")


class OneStatement:
    """A write that sends one statement per call, for items of one key."""

    def __init__(self, write: Callable[[Connection, Sequence[Any]], Sequence[Any]],
                 key: Callable[[Any], Any]) -> None:
        self.write, self.key = write, key

    def __call__(self, conn: Connection, items: Sequence[Any]) -> Sequence[Any]:
        return self.write(conn, items)


class _Waiter:
    """A request on an event loop: its answer is kept here by the writer thread and handed
    to its future on the loop with the other answers of the batch (GroupCommit._wake); it
    takes the place of a concurrent Future in the queue."""

    __slots__ = ("future", "answered", "result", "error")

    def __init__(self, future: asyncio.Future[Any]) -> None:
        self.future = future
        self.answered = False
        self.result: Any = None
        self.error: BaseException | None = None

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.cancelled()  # (the request went away: not written)

    def done(self) -> bool:
        return self.answered

    def set_result(self, result: Any) -> None:
        self.result, self.answered = result, True

    def set_exception(self, error: BaseException) -> None:
        self.error, self.answered = error, True


def _settle(waiters: list[_Waiter]) -> None:
    """On the waiters' loop: each future its answer."""
    for waiter in waiters:
        if waiter.future.done():
            continue
        if waiter.error is not None:
            waiter.future.set_exception(waiter.error)
        else:
            waiter.future.set_result(waiter.result)


Waiting = Future[Any] | _Waiter
Entry = tuple[Write, Any, Waiting]


class Failed(Exception):
    """A write of a batch written together failed (nothing of the batch was committed)."""


class GroupCommit:
    """One writer thread per process and database (started at the first write)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        path = sqlite_lock_path(engine)
        self._lock: AbstractContextManager[Any] = FileLock(path) if path else nullcontext()
        self._queue: queue.SimpleQueue[Entry] = queue.SimpleQueue()
        self._guard = threading.Lock()  # guards _thread
        self._thread: threading.Thread | None = None
        self._kept: Connection | None = None  # the writer thread's (_autocommit)
        self._last_commit = 0.0

    def submit(self, write: Callable[[Connection, Sequence[T]], Sequence[R]], item: T
               ) -> Future[R]:
        """The item's result once committed (or the error that kept it from the database)."""
        future: Future[R] = Future()
        self._put((write, item, future))
        return future

    async def write(self, write: Callable[[Connection, Sequence[T]], Sequence[R]], item: T
                    ) -> R:
        """submit, for a request on an event loop."""
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        self._put((write, item, waiter))
        result: R = await waiter.future
        return result

    def _put(self, entry: Entry) -> None:
        self._queue.put(entry)
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="group-commit",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._guard:
                    if self._queue.empty():  # a write queued now finds no live thread
                        self._thread = None
                        self._drop_kept()
                        return
                continue
            batch = [first]
            if not self._sqlite and time.monotonic() - self._last_commit < GATHER_SECONDS:
                self._gather(batch)
            self._commit(batch)
            self._last_commit = time.monotonic()

    def _gather(self, batch: list[Entry]) -> None:
        deadline = time.monotonic() + GATHER_SECONDS
        while len(batch) < BATCH:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                return

    def _commit(self, batch: list[Entry]) -> None:
        answers: list[tuple[Waiting, Any, BaseException | None]] = []
        try:
            if self._sqlite:
                # the pooled connection taken and given back outside the lock: the other
                # processes' writers wait only for this one's statements
                with self._engine.connect() as conn, self._lock:
                    groups, _ = self._split(batch)
                    answers = self._together(conn, groups)
            else:
                groups, statements = self._split(batch)
                if groups:
                    with self._engine.connect() as conn:
                        answers = self._together(conn, groups)
                for (write, _key), entries in statements.items():
                    answers += self._statement(self._autocommit(), write, entries)
        except BaseException as exc:  # what was not answered is not written
            self._drop_kept()
            for _write, _item, future in batch:
                if not future.done():
                    future.set_exception(exc)
            self._wake(batch)
            if not isinstance(exc, Exception):
                raise
            return
        for future, result, error in answers:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        self._wake(batch)

    @staticmethod
    def _wake(batch: list[Entry]) -> None:
        """One call into each loop that has requests waiting in the batch."""
        waiters: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        for _write, _item, waiting in batch:
            if isinstance(waiting, _Waiter) and waiting.answered:
                waiters.setdefault(waiting.future.get_loop(), []).append(waiting)
        for loop, answered in waiters.items():
            try:
                loop.call_soon_threadsafe(_settle, answered)
            except RuntimeError:  # the loop is closed: nobody waits any more
                log.debug("a closed loop's requests were answered", exc_info=True)

    def _split(self, batch: list[Entry]) -> tuple[
            dict[Write, list[tuple[Any, Waiting]]],
            dict[tuple[OneStatement, Any], list[tuple[Any, Waiting]]]]:
        """The batch, with what was queued while this waited for the lock (it would
        otherwise wait for one more turn of every process's writer), by write: the
        OneStatement writes by key too (on PostgreSQL)."""
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        groups: dict[Write, list[tuple[Any, Waiting]]] = {}
        statements: dict[tuple[OneStatement, Any], list[tuple[Any, Waiting]]] = {}
        for write, item, future in batch:
            if not future.set_running_or_notify_cancel():
                continue
            if isinstance(write, OneStatement) and not self._sqlite:
                statements.setdefault((write, write.key(item)), []).append((item, future))
            else:
                groups.setdefault(write, []).append((item, future))
        return groups, statements

    def _together(self, conn: Connection, groups: dict[Write, list[tuple[Any, Waiting]]]
                  ) -> list[tuple[Waiting, Any, BaseException | None]]:
        try:
            return self._transaction(conn, groups, together=True)
        except Failed:  # again, each write in a savepoint: only what fails fails
            return self._transaction(conn, groups, together=False)

    def _autocommit(self) -> Connection:
        """The thread's own autocommit connection for OneStatement writes, kept between
        batches (a pool checkout, its reset and the isolation level each time were a tenth
        of the writer's CPU); a new one after it broke."""
        if self._kept is not None and (self._kept.invalidated or self._kept.closed):
            self._drop_kept()
        if self._kept is None:
            self._kept = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._kept

    def _drop_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            try:
                kept.close()
            except Exception:  # a broken connection: nothing to give back
                log.debug("closing the writer's connection failed", exc_info=True)

    def _transaction(self, conn: Connection, groups: dict[Write, list[tuple[Any, Waiting]]],
                     together: bool) -> list[tuple[Waiting, Any, BaseException | None]]:
        """The batch's writes in one transaction, committed. `together`: without a savepoint
        (two statements and a compilation a batch, a fifth of the writer's CPU on
        PostgreSQL); a write that fails then raises Failed, nothing of the batch committed."""
        answers: list[tuple[Waiting, Any, BaseException | None]] = []
        if self._sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        for write, entries in groups.items():
            if not together:
                answers += self._write(conn, write, entries)
                continue
            try:
                results = write(conn, [item for item, _ in entries])
            except Exception as exc:
                conn.rollback()
                raise Failed from exc
            answers += [(f, r, None) for (_, f), r in zip(entries, results, strict=True)]
        conn.commit()
        return answers

    @staticmethod
    def _statement(conn: Connection, write: OneStatement, entries: list[tuple[Any, Waiting]]
                   ) -> list[tuple[Waiting, Any, BaseException | None]]:
        """One call, its own transaction; when it fails (having written nothing), each item
        alone."""
        def call(items: list[Any]) -> Sequence[Any]:
            try:
                results = write(conn, items)
            except BaseException:
                conn.rollback()  # (nothing to undo: ends SQLAlchemy's transaction)
                raise
            conn.commit()
            return results

        try:
            results = call([item for item, _ in entries])
            return [(f, r, None) for (_, f), r in zip(entries, results, strict=True)]
        except Exception as exc:
            if len(entries) == 1:
                return [(entries[0][1], None, exc)]
        answers: list[tuple[Waiting, Any, BaseException | None]] = []
        for item, future in entries:
            try:
                answers.append((future, call([item])[0], None))
            except Exception as exc:
                answers.append((future, None, exc))
        return answers

    @staticmethod
    def _write(conn: Connection, write: Write, entries: list[tuple[Any, Waiting]]
               ) -> list[tuple[Waiting, Any, BaseException | None]]:
        items = [item for item, _ in entries]
        try:
            with conn.begin_nested():
                results = write(conn, items)
            return [(f, r, None) for (_, f), r in zip(entries, results, strict=True)]
        except Exception as exc:
            if len(entries) == 1:
                return [(entries[0][1], None, exc)]
        answers: list[tuple[Waiting, Any, BaseException | None]] = []
        for item, future in entries:  # alone: only the item that fails fails
            try:
                with conn.begin_nested():
                    answers.append((future, write(conn, [item])[0], None))
            except Exception as exc:
                answers.append((future, None, exc))
        return answers
