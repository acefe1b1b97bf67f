"""The audit log: who did what, through which client, with what outcome. Never a secret."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.orm import Session, sessionmaker

from casegate import metrics, observe
from casegate.storage.models import AuditEvent

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


class BatchedAudit:
    """Hot-path events (token issued or refused) queued and written in batches.

    The token endpoint writes nothing its response must wait for; a crash may lose the last
    second of these events, never a change of state.
    """

    def __init__(self, factory: sessionmaker[Session], interval: float = 0.5) -> None:
        self._factory = factory
        self._interval = interval
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        # held while a batch is taken and written, so flush() returns only once every event
        # added before it is committed, even when the writer thread took them a moment earlier
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts: dict[tuple[str, str], int] = {}  # for /metrics: this process's own

    def add(self, event: str, *, actor: str = "", subject: str = "", outcome: str = "ok",
            **detail: Any) -> None:
        values = row(event, actor=actor, subject=subject, outcome=outcome, **detail)
        metrics.audited(event, subject, outcome, detail)
        with self._lock:
            self._rows.append(values)
            self.counts[(event, outcome)] = self.counts.get((event, outcome), 0) + 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def flush(self) -> None:
        with self._flushing:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            self._write(rows)
        except Exception:  # one bad row must not lose the batch: retry one by one
            for row in rows:
                try:
                    self._write([row])
                except Exception:  # the audit writer must never take the server down
                    log.exception("audit event %s lost", row["event"])

    def _write(self, rows: list[dict[str, Any]]) -> None:
        # Core executemany on a plain connection: the ORM's bulk insert spent ~10x longer
        # per row in Python (holding the GIL the token endpoint needs)
        engine = cast(Engine, self._factory.kw["bind"])
        with engine.begin() as conn:
            conn.execute(INSERT, rows)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
