"""Checking a person's password: sign-in page and password grant alike.

Argon2id costs 64 MiB and tens of milliseconds per check, so checks are few at a time and
throttled per account and address (access/throttle.py); an unknown name costs the same as a
known one, so timing does not tell which operators exist.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session, sessionmaker

from casegate import audit
from casegate.access import throttle
from casegate.access.operators import MAX_PASSWORD
from casegate.storage.db import transaction
from casegate.storage.models import Operator

HASHER = PasswordHasher()
# two checks at once at most: each holds 64 MiB and a core
CHECKS = threading.BoundedSemaphore(2)


class SignInFailed(Exception):
    """Wrong name or password, or an operator who may not sign in; the reason is logged."""


@dataclass
class Throttled(Exception):
    wait: int


@cache
def _dummy_hash() -> str:
    return HASHER.hash("casegate dummy password")


def _matches(password_hash: str | None, password: str) -> bool:
    with CHECKS:
        try:
            return HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def check_password(factory: sessionmaker[Session], username: str, password: str,
                   address: str, via: str) -> Operator:
    """The person operator `username` if `password` is theirs; raises SignInFailed or
    Throttled. Commits its own counts: a failure must be counted even though it raises."""
    username = username.strip()
    with transaction(factory) as session:
        wait = throttle.signin_wait(session, username, address)
        if wait is not None:
            audit.record(session, "signin.throttled", actor=username[:128], outcome="refused",
                         via=via)
            raise Throttled(wait)
        operator = session.get(Operator, username[:128]) if username else None
        ok = len(password) <= MAX_PASSWORD and _matches(
            operator.password_hash if operator else None, password)
        reason = _refusal(operator, ok)
        if reason:
            throttle.signin_failed(session, username, address)
            audit.record(session, "signin.failed", actor=username[:128], outcome="refused",
                         reason=reason, via=via)
        else:
            assert operator is not None
            throttle.signin_succeeded(session, username, address)
            if operator.password_hash and HASHER.check_needs_rehash(operator.password_hash):
                operator.password_hash = HASHER.hash(password)
            audit.record(session, "signin.ok", actor=operator.id, via=via)
            session.expunge(operator)
            return operator
    raise SignInFailed(reason)


def _refusal(operator: Operator | None, password_ok: bool) -> str:
    if operator is None:
        return "unknown operator"
    if not password_ok:
        return "wrong password"
    if operator.kind != "person":
        return "a service operator cannot sign in"
    if not operator.enabled:
        return "operator disabled"
    return ""
