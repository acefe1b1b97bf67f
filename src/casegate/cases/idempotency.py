"""`Idempotency-Key` on POST /cases: a repeat with the same key, by the same client and
operator within 24 h, answers the case the first request made and never makes a second
(a consumer casegate retries a create that timed out with the same key)."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from casegate.access.privileges import grants
from casegate.cases import service
from casegate.cases.schemas import CreateCase
from casegate.errors import Invalid
from casegate.oauth.bearer import Principal
from casegate.storage.db import transaction
from casegate.storage.models import Case, IdempotencyKey

KEPT_FOR = 24 * 3600
MAX_KEY = 255


def check_key(header: str | None) -> str | None:
    if header is None:
        return None
    if not 0 < len(header) <= MAX_KEY or not header.isprintable():
        raise Invalid("Idempotency-Key", f"1 to {MAX_KEY} printable characters")
    return hashlib.sha256(header.encode()).hexdigest()


def earlier(session: Session, principal: Principal, key: str) -> Case | None:
    row = session.get(IdempotencyKey, (principal.client_id, principal.operator.id, key))
    if row is None or row.expires_at < time.time():
        return None
    return session.get(Case, row.case_id)


def remember(session: Session, principal: Principal, key: str, case_id: str) -> None:
    now = time.time()
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < now))
    session.add(IdempotencyKey(client_id=principal.client_id, operator_id=principal.operator.id,
                               key=key, case_id=case_id, expires_at=now + KEPT_FOR))
    session.flush()  # a concurrent first use of the key fails here, before the commit


def create_once(factory: sessionmaker[Session], principal: Principal, body: CreateCase,
                key: str | None) -> Case:
    """service.create, or with a key already used, the case it made."""
    for attempt in range(2):
        try:
            with transaction(factory) as session:
                case = earlier(session, principal, key) if key else None
                if case is None:
                    case = service.create(session, principal, grants(session, principal.group),
                                          body)
                    if key:
                        remember(session, principal, key, case.id)
                return case
        except IntegrityError:
            # the same key, used at the same moment: the other request's case is the answer
            # (this one's transaction, case included, was rolled back)
            if key is None or attempt:
                raise
    raise AssertionError("unreachable")
