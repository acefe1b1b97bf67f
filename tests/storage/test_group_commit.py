"""The group-commit writer (storage/group_commit.py): writes queued at once commit together,
each answered only once committed; a failing write fails only its own request; on SQLite the
writers of several processes take turns on the lock file instead of SQLite's busy handler."""

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
    select,
)

from casegate.storage.db import make_engine
from casegate.storage.group_commit import GroupCommit, OneStatement, sqlite_lock_path

ROWS = Table("group_commit_rows", MetaData(), Column("id", Integer, primary_key=True),
             Column("who", String(32)))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    ROWS.create(engine)
    yield engine
    engine.dispose()


def write_rows(conn: Connection, items: Sequence[tuple[int, str]]) -> list[int]:
    conn.execute(insert(ROWS), [{"id": i, "who": who} for i, who in items])
    return [i * 10 for i, _ in items]


def written(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {row.id: row.who for row in conn.execute(select(ROWS))}


def test_each_write_is_answered_with_its_result_once_committed(engine: Engine) -> None:
    writer = GroupCommit(engine)
    futures = [writer.submit(write_rows, (i, "a")) for i in range(1, 301)]
    assert [f.result(timeout=30) for f in futures] == [i * 10 for i in range(1, 301)]
    assert written(engine) == {i: "a" for i in range(1, 301)}


def holding(engine: Engine) -> tuple[GroupCommit, threading.Event,
                                      Callable[[Connection, Sequence[int]], list[int]]]:
    """A writer, with row 5 already written, and a write that holds it until `go` is set."""
    with engine.begin() as conn:
        conn.execute(insert(ROWS), {"id": 5, "who": "earlier"})
    go = threading.Event()

    def held(conn: Connection, items: Sequence[int]) -> list[int]:
        go.wait(30)
        return list(items)

    return GroupCommit(engine), go, held


def test_a_failing_write_fails_alone(engine: Engine) -> None:
    writer, go, held = holding(engine)

    first = writer.submit(held, 0)
    # queued while the writer is busy, then written together: the duplicate key fails its
    # own request, the others commit
    futures = [writer.submit(write_rows, (i, "b")) for i in range(1, 10)]
    go.set()
    assert first.result(timeout=30) == 0
    wait(futures, timeout=30)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        futures[4].result()
    assert [f.result() for k, f in enumerate(futures) if k != 4] == [
        i * 10 for i in range(1, 10) if i != 5]
    assert written(engine) == {**{i: "b" for i in range(1, 10)}, 5: "earlier"}


def test_requests_on_a_loop_are_answered_by_one_call_into_it_per_batch(
        engine: Engine) -> None:
    """GroupCommit.write: each request its own result (or its own failure), the batch's
    answers handed to the loop together, not one wake-up of the loop each."""
    writer, go, held = holding(engine)

    async def requests() -> tuple[list[Any], int]:
        loop = asyncio.get_running_loop()
        calls = 0
        into = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return into(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        first = asyncio.ensure_future(writer.write(held, 0))
        await asyncio.sleep(0.1)  # the writer is in `held`: the rest queue meanwhile
        rest = [asyncio.ensure_future(writer.write(write_rows, (i, "c"))) for i in range(1, 10)]
        await asyncio.sleep(0.1)
        go.set()
        answers = await asyncio.gather(first, *rest, return_exceptions=True)
        return answers, calls

    answers, calls = asyncio.run(requests())
    assert answers[0] == 0
    failed = str(answers[5]).lower()
    assert isinstance(answers[5], Exception) and ("duplicate" in failed or "unique" in failed)
    assert [a for k, a in enumerate(answers[1:], 1) if k != 5] == [
        i * 10 for i in range(1, 10) if i != 5]
    assert calls == 2  # the held write's batch, then the other nine's
    assert written(engine) == {**{i: "c" for i in range(1, 10)}, 5: "earlier"}


def test_a_one_statement_write_is_called_per_key_and_a_failing_item_fails_alone(
        engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(ROWS), {"id": 5, "who": "earlier"})
    calls: list[list[int]] = []

    def rows(conn: Connection, items: Sequence[tuple[int, str]]) -> list[int]:
        calls.append([i for i, _ in items])
        return write_rows(conn, items)  # one INSERT of every row (one statement)

    by_who = OneStatement(rows, key=lambda item: item[1])
    writer = GroupCommit(engine)
    go = threading.Event()
    first = writer.submit(lambda conn, items: go.wait(30) and list(items), 0)
    futures = [writer.submit(by_who, (i, "odd" if i % 2 else "even")) for i in range(1, 10)]
    go.set()
    assert first.result(timeout=30) == 0
    wait(futures, timeout=30)
    # 5 (odd) is a duplicate: its call failed, and each odd item was written again alone;
    # the even ones were one call of their own, which the failure did not undo
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        futures[4].result()
    assert [f.result() for k, f in enumerate(futures) if k != 4] == [
        i * 10 for i in range(1, 10) if i != 5]
    assert written(engine) == {**{i: "odd" if i % 2 else "even" for i in range(1, 10)},
                               5: "earlier"}
    if engine.dialect.name == "postgresql":  # per key, then the odd ones alone
        assert sorted(calls) == sorted([[1, 3, 5, 7, 9], [2, 4, 6, 8], [1], [3], [5], [7],
                                        [9]])


def no_busy_handler(conn: Any, _record: Any) -> None:
    conn.execute("PRAGMA busy_timeout=0")


def test_sqlite_writers_of_two_processes_take_turns_on_the_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    first, second = make_engine(f"sqlite:///{path}"), make_engine(f"sqlite:///{path}")
    ROWS.create(first)
    assert sqlite_lock_path(first) == tmp_path / "two.db.write-lock"
    # SQLite's busy handler off: a writer that met the other's write lock would fail at once
    # ("database is locked"); taking turns on the lock file, none ever does
    for engine in (first, second):
        engine.dispose()
        event.listen(engine, "connect", no_busy_handler)
    try:
        writers = [GroupCommit(first), GroupCommit(second)]
        futures = [writers[i % 2].submit(write_rows, (i, f"w{i % 2}")) for i in range(1, 2001)]
        wait(futures, timeout=60)
        assert [f.result() for f in futures] == [i * 10 for i in range(1, 2001)]
        assert written(first) == {i: f"w{i % 2}" for i in range(1, 2001)}
    finally:
        first.dispose()
        second.dispose()
