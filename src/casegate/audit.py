"""The audit log: who did what, through which client, with what outcome. Never a secret."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from functools import lru_cache
from itertools import islice
from typing import Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.orm import Session, sessionmaker

from casegate import metrics, observe
from casegate.storage.models import AuditEvent
from casegate.storage.outage import is_outage
from casegate.storage.pg_copy import copy_rows

log = logging.getLogger("casegate.audit")
# session.info key: who acts through this session, for every event it records
ACTOR = "casegate.actor"
INSERT = insert(cast(Table, AuditEvent.__table__))


def record(
    session: Session,
    event: str,
    *,
    actor: str = "",
    subject: str = "",
    outcome: str = "ok",
    **detail: Any,
) -> None:
    """Write an event inside the caller's transaction: it commits with the change it describes.

    Without an actor, the session's (ACTOR: `cli:<user>`, a console's administrator)."""
    session.add(AuditEvent(event=event, actor=actor or session.info.get(ACTOR, ""),
                           subject=subject, outcome=outcome, detail=detail,
                           request_id=observe.request_id()))
    metrics.audited(event, subject, outcome, detail)


def row(event: str, *, actor: str = "", subject: str = "", outcome: str = "ok",
        **detail: Any) -> dict[str, Any]:
    """One event as the values of INSERT (for Core writers, in their own transaction)."""
    return {"at": time.time(), "event": event, "actor": actor, "subject": subject,
            "outcome": outcome, "detail": detail, "request_id": observe.request_id()}


# BatchedAudit's rows: plain tuples in this order
COLUMNS = ("at", "event", "actor", "subject", "outcome", "detail", "request_id")
Row = tuple[float, str, str, str, str, dict[str, Any], str]
# rows per INSERT on SQLite (7 values each: within SQLite's oldest limit of 999 per statement)
CHUNK = 64


@lru_cache(maxsize=CHUNK)
def insert_many(rows: int) -> str:
    """SQLite's INSERT of `rows` rows of COLUMNS (positional "?" parameters)."""
    values = ", ".join(["(" + ", ".join("?" * len(COLUMNS)) + ")"] * rows)
    # (constants only: the table's and columns' names, and the driver's placeholders)
    columns = ", ".join(COLUMNS)
    return f"INSERT INTO {AuditEvent.__tablename__} ({columns}) VALUES {values}"  # noqa: S608


_texts: dict[tuple[tuple[str, Any], ...], str] = {}


def detail_text(detail: dict[str, Any]) -> str:
    """json.dumps(detail), remembered for details of strings only: a token's is one of a few
    (grant type and scope), and json.dumps cost the writer ~5 µs a row under the GIL. (Only
    strings: a key of them equals no key holding a number, True or None, whose text differs.)"""
    try:
        key = tuple(detail.items())
        text = _texts.get(key)
    except TypeError:  # a list or dict among the values: not a key
        return json.dumps(detail)
    if text is None:
        text = json.dumps(detail)
        if all(type(value) is str for value in detail.values()):
            if len(_texts) >= 1024:  # bounded: the details are few, but never grow without end
                _texts.clear()
            _texts[key] = text
    return text


class AuditFull(Exception):
    """The buffer of events not yet written is full: do not do what would need one."""


class BatchedAudit:
    """Hot-path events (token issued or refused) buffered and written in batches.

    The token endpoint writes nothing its response must wait for. An event is never dropped
    while the process lives: a batch leaves the buffer only once committed; while the
    database cannot write, the writer retries with backoff (0.5 s doubling to 30 s) and the
    buffer holds up to `capacity` events; past that, `add` raises AuditFull and the caller
    answers 503 rather than act unaccounted. A kill -9 loses what the buffer held: normally
    the last half second of events, at most `capacity` during an outage.
    """

    BATCH = 500
    MAX_BACKOFF = 30.0

    def __init__(self, factory: sessionmaker[Session], interval: float = 0.5,
                 capacity: int = 10000) -> None:
        self._factory = factory
        self._interval = interval
        self.capacity = capacity
        self._rows: deque[Row] = deque()
        self._lock = threading.Lock()  # guards _rows
        self._writing = threading.Lock()  # one writer at a time: a batch is written once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0  # consecutive failed writes (for the backoff and readiness)

    def add(self, event: str, *, actor: str = "", subject: str = "", outcome: str = "ok",
            **detail: Any) -> None:
        values = (time.time(), event, actor, subject, outcome, detail, observe.request_id())
        with self._lock:
            if len(self._rows) >= self.capacity:
                raise AuditFull(f"{len(self._rows)} audit events wait for the database")
            self._rows.append(values)
        metrics.audited(event, subject, outcome, detail)

    @property
    def pending(self) -> int:
        return len(self._rows)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self, patience: float = 5.0) -> None:
        """Write what is left, retrying for a few seconds; what still cannot be written when
        the process ends is counted in the log."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + patience
        while not self.flush() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pending:
            log.error("%d audit events could not be written before the process ended",
                      self.pending)

    def flush(self) -> bool:
        """Write every buffered event; False when the database refused (they stay)."""
        with self._writing:
            while True:
                with self._lock:
                    batch = list(islice(self._rows, self.BATCH))
                if not batch:
                    self.failures = 0
                    return True
                try:
                    self._write_batch(batch)
                except Exception as exc:
                    self.failures += 1
                    if self.failures == 1 or self.failures % 20 == 0:
                        log.error("audit writer: %d events wait for the database (%s: %s)",
                                  self.pending, type(exc).__name__, str(exc).splitlines()[0]
                                  if str(exc) else "")
                    return False
                with self._lock:  # only this writer removes, so the head is the batch
                    for _ in batch:
                        self._rows.popleft()

    def _write_batch(self, rows: list[Row]) -> None:
        try:
            self._write(rows)
        except Exception as exc:
            if is_outage(exc):
                raise
            # not the database failing: a row is unwritable (a bug), which no retry mends;
            # write the others (an outage midway may then write a few twice, never none)
            for one in rows:
                try:
                    self._write([one])
                except Exception as error:
                    if is_outage(error):
                        raise
                    log.exception("audit event %s cannot be written", one[1])

    def _write(self, rows: list[Row]) -> None:
        # plain tuples straight to the driver in one transaction: the ORM's bulk insert spent
        # ~10x longer per row in Python, and Core's per-row dicts and type processing ~2x
        # (holding the GIL the token endpoint needs)
        engine = cast(Engine, self._factory.kw["bind"])
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # COPY: a quarter of the CPU per row
                copy_rows(conn, cast(Table, AuditEvent.__table__), COLUMNS, rows)
                return
            # CHUNK rows per statement, where an executemany stepped once per row: the
            # sqlite3 module releases the GIL around each step and takes it back, and while
            # the event loop holds it that took up to the switch interval (5 ms) each time:
            # a batch then crawled for tens of ms, in turns with the loop, the token
            # endpoint's p99 (bench/results/token-tail-2026-11-30.md)
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start:start + CHUNK]
                values: list[Any] = []
                for at, event, actor, subject, outcome, detail, request_id in chunk:
                    values += (at, event, actor, subject, outcome, detail_text(detail),
                               request_id)
                conn.exec_driver_sql(insert_many(len(chunk)), tuple(values))

    def _run(self) -> None:
        wait = self._interval
        while not self._stop.wait(wait):
            wait = self._interval if self.flush() else min(
                self._interval * 2 ** self.failures, self.MAX_BACKOFF)
