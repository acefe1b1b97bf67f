"""Throttling failed authentications in storage shared by all processes (SECURITY Decision 8).

Clients: only failures are counted and only failures are throttled, so a client that
presents its right secret always gets through and an attacker failing from elsewhere cannot
lock it out. Secrets have 256 bits, so that throttle is about noise and cost, not guessing.

People: passwords can be guessed, so past the limit every attempt waits, the right password
too; the limits are per account and address, per address and (loosely) per account, and a
window ends by itself: nobody is locked out for longer than one window.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casegate.storage.models import FailureCount

WINDOW = 60.0  # seconds
LIMIT = 10  # failures per client and address per window before 429

SIGNIN_WINDOW = 900.0
# (key, failures per window): a guesser at one account from one address is stopped after
# five; spraying from one address after thirty; a distributed guess at one account after a
# hundred, high enough that strangers cannot easily lock a person out of their own account
SIGNIN_LIMITS = (("signin:{operator}|{address}", 5), ("signin-from:{address}", 30),
                 ("signin:{operator}", 100))


def count_failure(session: Session, key: str, now: float,
                  window: float = WINDOW) -> tuple[float, int]:
    """One atomic upsert, so concurrent processes never lose a count; returns the window's
    start and count as written."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = FailureCount.__table__
    expired = table.c.window_start < now - window
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


def _forget_expired(session: Session, now: float) -> None:
    # made-up client IDs and user names add rows; expired windows go, so the table stays as
    # small as the failures of the last windows (one indexed DELETE, on failure paths only)
    longest = max(WINDOW, SIGNIN_WINDOW)
    session.execute(delete(FailureCount).where(FailureCount.window_start < now - 2 * longest))


def failed(session: Session, client_id: str, address: str) -> int | None:
    """Count one failed client authentication; the seconds to wait when over the limit."""
    now = time.time()
    _forget_expired(session, now)
    window_start, count = count_failure(session, f"client:{client_id[:128]}|{address}", now)
    if count <= LIMIT:
        return None
    return max(1, math.ceil(window_start + WINDOW - now))


def _signin_keys(operator: str, address: str) -> list[tuple[str, int]]:
    return [(key.format(operator=operator[:128], address=address), limit)
            for key, limit in SIGNIN_LIMITS]


def signin_wait(session: Session, operator: str, address: str) -> int | None:
    """Seconds before a person may try again at this account from this address, or None."""
    now = time.time()
    keys = dict(_signin_keys(operator, address))
    rows = session.execute(select(FailureCount.key, FailureCount.window_start,
                                  FailureCount.count).where(FailureCount.key.in_(keys)))
    waits = [math.ceil(start + SIGNIN_WINDOW - now) for key, start, count in rows
             if count >= keys[key] and start > now - SIGNIN_WINDOW]
    return max(1, max(waits)) if waits else None


def signin_failed(session: Session, operator: str, address: str) -> None:
    now = time.time()
    _forget_expired(session, now)
    for key, _ in _signin_keys(operator, address):
        count_failure(session, key, now, SIGNIN_WINDOW)


def signin_succeeded(session: Session, operator: str, address: str) -> None:
    """The person knew the password: their own address starts afresh for this account."""
    key = _signin_keys(operator, address)[0][0]
    session.execute(delete(FailureCount).where(FailureCount.key == key))
