"""Unexpected failures at the web edge: which mean the database is out (503 with
Retry-After: a client should come back, a load balancer try another process) and how they
are logged (one line per failed request; a given failure's traceback at most once a minute,
so an outage does not fill the log, nor the disk it may share with the database)."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import exc as sa

from casegate.audit import AuditFull
from casegate.storage.outage import is_outage

log = logging.getLogger("casegate.web")
RETRY_AFTER = 5  # seconds: about what a database restart or a freed disk takes
TRACE_INTERVAL = 60.0  # seconds between two tracebacks of the same failure
RETRY_AFTER_HEADER = (b"retry-after", str(RETRY_AFTER).encode())


def unavailable(error: BaseException) -> bool:
    """Answer 503: the database is out, or the audit log cannot take another event."""
    return is_outage(error) or isinstance(error, AuditFull)


def summary(error: BaseException) -> str:
    """One line: the driver's own message (never the SQL or its parameters)."""
    inner = error.orig if isinstance(error, sa.DBAPIError) and error.orig is not None else error
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0][:200] if text else ''}"


class Reporter:
    def __init__(self, interval: float = TRACE_INTERVAL) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def report(self, error: BaseException, what: str) -> None:
        line = f"{what} failed: {summary(error)}"
        now = time.monotonic()
        with self._lock:
            key = f"{type(error).__name__} {summary(error)}"
            traced = now - self._last.get(key, -self._interval) >= self._interval
            if traced:
                self._last[key] = now
        if traced:
            log.error("%s (traceback below; the same failure is one line for the next %d s)",
                      line, self._interval, exc_info=error)
        else:
            log.error("%s", line)


REPORTER = Reporter()
