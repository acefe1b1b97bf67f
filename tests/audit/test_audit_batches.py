"""The audit writer's batches (audit.py; by COPY on PostgreSQL, storage/pg_copy.py) arrive
whole, in order, with every value as it was given, on both databases; a row the database
refuses does not keep the others out."""

from typing import Any

from sqlalchemy import select

from casegate.audit import BatchedAudit
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory
from casegate.storage.models import AuditEvent

AWKWARD = ["plain", "tab\there", "new\nline", "back\\slash", "quote ' \" ", "é ü 漢字 🙂",
           "\\N", "comma, semicolon;", ""]


def written(settings: Settings) -> list[AuditEvent]:
    engine = make_engine(settings.db_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(AuditEvent).where(
                AuditEvent.event.like("batch.%")).order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def test_a_batch_arrives_whole_in_order_with_its_values(settings: Settings,
                                                         demo: dict[str, Any]) -> None:
    engine = make_engine(settings.db_url)
    audit = BatchedAudit(session_factory(engine))
    try:
        for i, text in enumerate(AWKWARD * 30):
            audit.add(f"batch.{i}", actor=text, subject=f"s{i}", outcome="ok", text=text,
                      nested={"list": [i, None, True, 1.5], "none": None})
        assert audit.flush()
    finally:
        engine.dispose()
    rows = written(settings)
    assert [r.event for r in rows] == [f"batch.{i}" for i in range(len(AWKWARD) * 30)]
    for i, row in enumerate(rows):
        text = AWKWARD[i % len(AWKWARD)]
        assert (row.actor, row.subject, row.outcome) == (text, f"s{i}", "ok")
        assert row.detail == {"text": text, "nested": {"list": [i, None, True, 1.5],
                                                       "none": None}}
        assert isinstance(row.at, float) and row.at > 1e9
    assert [r.at for r in rows] == sorted(r.at for r in rows)


def test_an_unwritable_row_does_not_keep_the_others_out(settings: Settings,
                                                        demo: dict[str, Any]) -> None:
    engine = make_engine(settings.db_url)
    audit = BatchedAudit(session_factory(engine))
    try:
        audit.add("batch.before")
        audit.add("batch.too-long", outcome="x" * 5000)  # outcome is VARCHAR(16)
        audit.add("batch.after")
        assert audit.flush()
    finally:
        engine.dispose()
    events = [r.event for r in written(settings)]
    if settings.db_url.startswith("sqlite"):  # SQLite does not enforce VARCHAR lengths
        assert events == ["batch.before", "batch.too-long", "batch.after"]
    else:
        assert events == ["batch.before", "batch.after"]


def test_details_that_compare_equal_keep_their_own_json(settings: Settings,
                                                        demo: dict[str, Any]) -> None:
    # the writer remembers the JSON of string-only details; True == 1 == 1.0 in Python, but
    # each detail must come back as it was given, in a batch of several statements' worth
    given: list[dict[str, Any]] = [{"x": "1"}, {"x": 1}, {"x": True}, {"x": 1.0}, {"x": None},
                                   {"x": "1"}, {"x": [1]}, {"x": "1", "y": "2"}] * 20
    engine = make_engine(settings.db_url)
    audit = BatchedAudit(session_factory(engine))
    try:
        for i, detail in enumerate(given):
            audit.add(f"batch.{i}", **detail)
        assert audit.flush()
    finally:
        engine.dispose()
    rows = written(settings)
    assert [r.detail for r in rows] == given
    assert [type(r.detail["x"]) for r in rows] == [type(d["x"]) for d in given]
