"""What is known about the request being served, for its log line, its audit rows and its
metrics: the request ID, and the client and operator once authenticated.

Held in a context variable that the middleware sets per request; the dict is shared, not
copied, with the worker threads the request's database work runs in, so what they note is
seen when the request ends.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from contextvars import ContextVar
from typing import Any

_current: ContextVar[dict[str, Any] | None] = ContextVar("casegate_request", default=None)
# what a caller may choose as its X-Request-ID: short, and nothing a log or header could misread
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


# a new request ID: this process's random prefix and a count (IDs tell requests apart in
# logs and audit rows; they guard nothing, and a random draw per request cost a system call)
_prefix = secrets.token_urlsafe(9)
_count = itertools.count(1)


def _new_prefix() -> None:
    global _prefix
    _prefix = secrets.token_urlsafe(9)


os.register_at_fork(after_in_child=_new_prefix)  # a forked process counts apart


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when safe, else a new one."""
    if header and SAFE_REQUEST_ID.fullmatch(header):
        return header
    return f"{_prefix}{next(_count):x}"


def begin(request_id: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"request_id": request_id}
    _current.set(fields)
    return fields


def note(**fields: str) -> None:
    """Record who the request turned out to be for (client_id, operator): never a secret."""
    current = _current.get()
    if current is not None:
        current.update(fields)


def fields() -> dict[str, Any]:
    return _current.get() or {}


def request_id() -> str:
    return str(fields().get("request_id", ""))
