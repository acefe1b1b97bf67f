"""casegate's log: one JSON object per line (CASEGATE_LOG_FORMAT=json) or plain text.

Lines carry the request's fields (observe.py) and the fields a caller passes as `extra`;
never a secret, token, password or assertion: the access line has fixed fields, and
database errors are logged without their parameters (storage/db.py: hide_parameters).

Lines are written in batches (BufferedStream): a write and flush per request line cost as
much CPU as a tenth of a token (profiled). A warning or error is written at once, with what
waits before it; logging.shutdown (atexit) writes the rest when the process ends.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from casegate import observe

FIELDS = ("request_id", "method", "route", "status", "duration_ms", "client_id", "operator")


_second: tuple[int, str] = (-1, "")


def _time(record: logging.LogRecord) -> str:
    """ISO 8601 UTC with milliseconds; the part up to the second is made once a second."""
    global _second
    second = int(record.created)
    if _second[0] != second:
        at = datetime.datetime.fromtimestamp(second, datetime.UTC)
        _second = (second, at.isoformat(timespec="seconds").replace("+00:00", ""))
    millis = int((record.created - second) * 1000)
    return f"{_second[1]}.{millis:03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The request's fields, then the record's own (`extra`), in FIELDS order."""
    fields = {k: v for k, v in observe.fields().items() if k in FIELDS}
    given = record.__dict__
    for name in FIELDS:
        if name in given:
            fields[name] = given[name]
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _time(record), "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage(),
                                **_fields(record)}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items()
                         if v not in (None, ""))
        line = f"{_time(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line} {extra}" if extra else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class BufferedStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes its lines every `interval` seconds (from a daemon thread,
    started with the first line), at once for a warning or worse or when `most` wait, and
    on flush() and close(), which logging.shutdown calls when the process ends."""

    def __init__(self, stream: Any, interval: float = 0.2, most: int = 512) -> None:
        super().__init__(stream)
        self.interval = interval
        self.most = most
        self._lines: list[str] = []
        self._flusher: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)  # under self.lock, as Handler.handle calls emit
        if record.levelno >= logging.WARNING or len(self._lines) >= self.most:
            self.flush()
        elif self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_often, name="log-writer",
                                             daemon=True)
            self._flusher.start()

    def flush(self) -> None:
        self.acquire()
        try:
            lines, self._lines = self._lines, []
            if lines and self.stream is not None:
                self.stream.write("".join(lines))
                self.stream.flush()
        finally:
            self.release()

    def _flush_often(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # noqa: S112 (a closed stream at exit: nothing left to do)
                continue


def configure(log_format: str) -> None:
    """casegate's and uvicorn's loggers to stderr in one format; info and up from casegate."""
    # what no line shows: not looked up per record (the logging HOWTO's "Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the caller's file and line
    handler = BufferedStream(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers:  # (announcer configured it first): what it holds goes first
        old.flush()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("casegate").setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def announcer(log_format: str, say: Callable[[str], None]) -> Callable[[str], None]:
    """What `serve` tells at start: lines for people, or log records in JSON mode."""
    if log_format != "json":
        return say
    configure(log_format)
    log = logging.getLogger("casegate.serve")

    def announce(message: str) -> None:
        log.log(logging.WARNING if message.startswith("WARNING") else logging.INFO, message)

    return announce
