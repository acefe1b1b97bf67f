"""casegate's log: one JSON object per line (CASEGATE_LOG_FORMAT=json) or plain text.

Lines carry the request's fields (observe.py) and the fields a caller passes as `extra`;
never a secret, token, password or assertion: the access line has fixed fields, and
database errors are logged without their parameters (storage/db.py: hide_parameters).
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from casegate import observe

FIELDS = ("request_id", "method", "route", "status", "duration_ms", "client_id", "operator")


def _time(record: logging.LogRecord) -> str:
    at = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found = {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}
    return {**{k: v for k, v in observe.fields().items() if k in FIELDS}, **found}


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


def configure(log_format: str) -> None:
    """casegate's and uvicorn's loggers to stderr in one format; info and up from casegate."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
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
