"""The batched audit writer never drops an event while the process lives: it keeps them
while the database cannot write and retries; when its buffer is full the token endpoint
answers 503 rather than issue a token nobody could account for."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.app import create_app
from casegate.audit import AuditFull, BatchedAudit
from casegate.settings import Settings
from casegate.storage.models import AuditEvent
from conftest import BASE_URL
from fixtures.factories import TOKEN_PATH


def test_events_wait_for_the_database_and_all_arrive(tmp_path: Path) -> None:
    # a database without the audit table: every write fails as an outage does
    engine = create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    writer = BatchedAudit(sessionmaker(engine), capacity=1000)
    for n in range(700):  # more than one batch
        writer.add("token.issued", subject=str(n))
    assert writer.flush() is False
    assert writer.flush() is False
    assert writer.pending == 700  # kept, not dropped
    AuditEvent.__table__.create(engine)  # type: ignore[attr-defined]
    assert writer.flush() is True
    assert writer.pending == 0
    with Session(engine) as session:
        subjects = [e.subject for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert subjects == [str(n) for n in range(700)]  # each once, in order
    engine.dispose()


def test_batches_arrive_in_order_with_their_details_and_request_ids(
        db: sessionmaker[Session]) -> None:
    # on SQLite and PostgreSQL: the writer's one prepared INSERT, in the driver's placeholders
    writer = BatchedAudit(db, capacity=2000)
    for n in range(1200):  # three batches
        writer.add("token.issued", actor=f"op{n}", subject=f"client{n}", outcome="ok",
                   grant_type="client_credentials", scope="cases casetypes", n=n)
    writer.add("token.refused", subject="x", outcome="denied", error="invalid_client",
               description='quote " and é')
    assert writer.flush() is True and writer.pending == 0
    with db() as session:
        events = list(session.scalars(select(AuditEvent).where(
            AuditEvent.event.in_(["token.issued", "token.refused"]))
            .order_by(AuditEvent.id)))
    assert [e.subject for e in events] == [f"client{n}" for n in range(1200)] + ["x"]
    assert events[7].actor == "op7" and events[7].outcome == "ok"
    assert events[7].detail == {"grant_type": "client_credentials", "scope": "cases casetypes",
                                "n": 7}
    assert events[-1].outcome == "denied"
    assert events[-1].detail == {"error": "invalid_client", "description": 'quote " and é'}
    assert all(e.request_id == "" and e.at > 0 for e in events)  # (no request: none)


def test_a_full_buffer_refuses_more(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    writer = BatchedAudit(sessionmaker(engine), capacity=100)
    for _ in range(100):
        writer.add("token.issued")
    with pytest.raises(AuditFull):
        writer.add("token.issued")
    assert writer.pending == 100
    engine.dispose()


@pytest.fixture
def small_buffer(settings: Settings, demo: dict[str, Any]) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"audit_buffer": 100}))
    with TestClient(app, base_url=BASE_URL) as http:
        yield http


def test_a_full_buffer_is_503_at_the_token_endpoint(small_buffer: TestClient,
                                                    demo: dict[str, Any]) -> None:
    http = small_buffer
    audit: BatchedAudit = http.app.state.runtime.audit  # type: ignore[attr-defined]
    audit.stop()  # no writer drains it now: the database "cannot write"
    auth = (demo["client_id"], demo["client_secret"])
    grant = {"grant_type": "client_credentials"}
    assert http.post(TOKEN_PATH, data=grant, auth=auth).status_code == 200
    while audit.pending < audit.capacity:
        audit.add("test.filler")
    for form in (grant, grant | {"scope": "cases"}):
        refused = http.post(TOKEN_PATH, data=form, auth=auth)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "temporarily_unavailable"
        assert refused.headers["retry-after"].isdigit()
        assert "access_token" not in refused.text
    ready = http.get("/readyz")
    assert ready.status_code == 503 and "audit" in ready.json()["reason"]
    assert audit.flush() is True  # the database writes again
    assert http.post(TOKEN_PATH, data=grant, auth=auth).status_code == 200
    assert http.get("/readyz").status_code == 200
