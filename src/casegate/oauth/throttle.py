"""Throttling failed client authentication, per client and address (SECURITY Decision 8).

Only failures are counted and only failures are throttled: a client that presents its
right secret always gets through, so an attacker failing from elsewhere cannot lock the
real client out. Secrets have 256 bits, so the throttle is about noise and cost, not guessing.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casegate.storage.models import FailureCount

WINDOW = 60.0  # seconds
LIMIT = 10  # failures per client and address per window before 429


def count_failure(session: Session, key: str, now: float) -> tuple[float, int]:
    """One atomic upsert, so concurrent processes never lose a count; returns the window's
    start and count as written."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = FailureCount.__table__
    expired = table.c.window_start < now - WINDOW
    window_start, count = session.execute(
        dialect.insert(table)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            # a new window starts once the old one is over; else the count goes up
            set_={"window_start": case((expired, now), else_=table.c.window_start),
                  "count": case((expired, 1), else_=table.c.count + 1)},
        )
        .returning(table.c.window_start, table.c.count)
    ).one()
    return float(window_start), int(count)


def failed(session: Session, client_id: str, address: str) -> int | None:
    """Count one failure; the seconds to wait when over the limit, else None."""
    now = time.time()
    key = f"client:{client_id[:128]}|{address}"
    # made-up client IDs add rows; expired windows go, so the table stays as small as the
    # failures of the last minute (one indexed DELETE, on the failure path only)
    session.execute(delete(FailureCount).where(FailureCount.window_start < now - 2 * WINDOW))
    window_start, count = count_failure(session, key, now)
    if count <= LIMIT:
        return None
    return max(1, math.ceil(window_start + WINDOW - now))
