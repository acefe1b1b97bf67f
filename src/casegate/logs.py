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


def _time(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the part up to the second is made once a second."""
    global _second
    second = int(created)
    if _second[0] != second:
        at = datetime.datetime.fromtimestamp(second, datetime.UTC)
        _second = (second, at.isoformat(timespec="seconds").replace("+00:00", ""))
    millis = int((created - second) * 1000)
    return f"{_second[1]}.{millis:03d}Z"


def _fields(given: dict[str, Any]) -> dict[str, Any]:
    """The request's fields, then the record's own (`extra`), in FIELDS order."""
    fields = {k: v for k, v in observe.fields().items() if k in FIELDS}
    for name in FIELDS:
        if name in given:
            fields[name] = given[name]
    return fields


# the access line's own fields, after the request's (the order _fields gives them)
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")


class LineFormatter(logging.Formatter):
    """A record as one line; `line` is also what the access line is written with (access)."""

    def format(self, record: logging.LogRecord) -> str:
        error = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(record.created, record.levelname, record.name, record.getMessage(),
                         record.__dict__, error)

    def line(self, created: float, level: str, logger: str, message: str,
             given: dict[str, Any], error: str | None) -> str:
        raise NotImplementedError

    def access_line(self, created: float, logger: str, method: str, route: str, status: int,
                    duration_ms: float) -> str:
        """The line of an access record (logs.access)."""
        return self.line(created, "INFO", logger, f"{method} {route} {status:d}",
                         dict(zip(ACCESS_FIELDS, (method, route, status, duration_ms),
                                  strict=True)), None)


class JsonFormatter(LineFormatter):
    def line(self, created: float, level: str, logger: str, message: str,
             given: dict[str, Any], error: str | None) -> str:
        line: dict[str, Any] = {"time": _time(created), "level": level.lower(),
                                "logger": logger, "message": message, **_fields(given)}
        if error:
            line["error"] = error
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(LineFormatter):
    def access_line(self, created: float, logger: str, method: str, route: str, status: int,
                    duration_ms: float) -> str:
        request = observe.fields()
        if not method or not route or not request.keys().isdisjoint(ACCESS_FIELDS):
            return super().access_line(created, logger, method, route, status, duration_ms)
        # line()'s text for these fields (the request's, then the access line's own), in
        # one format, without merging them through dicts
        noted = "".join([f" {k}={v}" for k, v in request.items()
                         if k in FIELDS and v not in (None, "")])
        return (f"{_time(created)} INFO    {logger}: {method} {route} {status:d}{noted} "
                f"method={method} route={route} status={status} duration_ms={duration_ms}")

    def line(self, created: float, level: str, logger: str, message: str,
             given: dict[str, Any], error: str | None) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(given).items()
                         if v not in (None, ""))
        line = f"{_time(created)} {level:<7} {logger}: {message}"
        line = f"{line} {extra}" if extra else line
        if error:
            line += "\n" + error
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
        self._add(line, record.levelno >= logging.WARNING)  # under self.lock (Handler.handle)

    def _add(self, line: str, urgent: bool) -> None:
        self._lines.append(line)
        if urgent or len(self._lines) >= self.most:
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


# the handler configure() made: the access line goes to it without a LogRecord (access)
_handler: BufferedStream | None = None


def access(log: logging.Logger, method: str, route: str, status: int,
           duration_ms: float) -> None:
    """One request's access line at info, as log.info("%s %s %d", ..., extra=...) writes it.

    Where configure()'s handler is the only one (a server), the line is formatted and queued
    straight away: the LogRecord, the logger walk and the handler's filter cost twice the
    formatting (profiled). Anywhere else (another handler, a filter: tests, embeddings)
    the record goes through logging as usual."""
    handler = _handler
    root = logging.root.handlers
    if (handler is None or len(root) != 1 or root[0] is not handler or handler.filters
            or log.handlers or log.filters or not log.propagate):
        log.info("%s %s %d", method, route, status, extra={
            "method": method, "route": route, "status": status, "duration_ms": duration_ms})
        return
    if not log.isEnabledFor(logging.INFO):
        return
    formatter = handler.formatter
    assert isinstance(formatter, LineFormatter)
    line = formatter.access_line(time.time(), log.name, method, route, status, duration_ms)
    with handler.lock:  # type: ignore[union-attr]
        handler._add(line + handler.terminator, False)


def configure(log_format: str) -> None:
    """casegate's and uvicorn's loggers to stderr in one format; info and up from casegate."""
    # what no line shows: not looked up per record (the logging HOWTO's "Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the caller's file and line
    global _handler
    handler = _handler = BufferedStream(sys.stderr)
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
