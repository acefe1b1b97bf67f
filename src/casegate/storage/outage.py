"""Which errors mean the database is out (unreachable, full, read-only, shutting down, its
pool exhausted) rather than a bug: callers retry them, or answer 503, never drop work."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa

OUTAGES = (sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
           sqlite3.OperationalError)


def is_outage(error: BaseException) -> bool:
    """The error, or one it was raised from or while handling, is the database failing."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, OUTAGES) or (isinstance(seen, sa.DBAPIError)
                                         and seen.connection_invalidated):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
