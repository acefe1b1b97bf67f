"""The live checks of the requests of one moment, read by one statement on PostgreSQL
(storage/pg_reader.GroupRead with oauth/bearer.LIVE_MANY): each request gets the row its own
token's check reads alone, a read asked once the statement is sent waits for the next one,
and a failed statement fails each of its reads."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from casegate.oauth import bearer
from casegate.settings import Settings
from casegate.storage.db import make_engine
from casegate.storage.models import RevokedToken
from casegate.storage.pg_reader import GroupRead, PostgresReader, ReaderError

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


@pytest.fixture
def reader(settings: Settings, demo: dict[str, Any]) -> Iterator[PostgresReader]:
    opened = PostgresReader(make_url(settings.db_url))
    opened.connect()
    assert opened.connected
    yield opened
    opened.close()


def counted(reader: PostgresReader, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many reads each statement the reader sent answered."""
    sent: list[int] = []
    rows = reader.rows

    def read(statement: Any, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if statement is bearer.LIVE_MANY:
            assert params is not None
            sent.append(len(params["jti"]))
        return rows(statement, params)

    monkeypatch.setattr(reader, "rows", read)
    return sent


def revoke(settings: Settings, jti: str, client_id: str) -> None:
    engine = make_engine(settings.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(RevokedToken).values(
                jti=jti, client_id=client_id, expires_at=time.time() + 600))
    finally:
        engine.dispose()


def test_each_read_of_one_moment_gets_its_own_row_from_one_statement(
        backend: str, settings: Settings, demo: dict[str, Any], reader: PostgresReader,
        monkeypatch: pytest.MonkeyPatch) -> None:
    client, operator = demo["client_id"], demo["operator"]
    revoke(settings, "jti-revoked", client)
    asked = [
        {"jti": "jti-live", "sub": operator, "client_id": client},
        {"jti": "jti-x", "sub": "nobody@casegate", "client_id": client},  # no such operator
        {"jti": "jti-revoked", "sub": operator, "client_id": client},
        {"jti": "jti-other", "sub": operator, "client_id": "no-such-client"},
    ]
    alone = [reader.first(bearer.LIVE_QUERY, params) for params in asked]
    sent = counted(reader, monkeypatch)
    reads = GroupRead(reader, bearer.LIVE_MANY, bearer.LIVE_NAMES)

    async def together() -> list[tuple[Any, ...] | None]:
        return await asyncio.gather(*(reads.first(params) for params in asked))

    rows = asyncio.run(together())
    assert sent == [4]
    assert rows == alone
    live, gone, revoked, clientless = rows
    assert gone is None
    assert live is not None and revoked is not None and clientless is not None
    assert (live[2], revoked[2]) == (False, True)  # the deny list, each its own jti
    assert live[4] == operator and live[0] is True  # the operator; the client enabled
    assert clientless[0] is None  # no such client: the outer join's NULL


def test_a_read_asked_after_the_statement_went_waits_for_the_next(
        backend: str, demo: dict[str, Any], reader: PostgresReader,
        monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"jti": "j", "sub": demo["operator"], "client_id": demo["client_id"]}
    sent = counted(reader, monkeypatch)
    reads = GroupRead(reader, bearer.LIVE_MANY, bearer.LIVE_NAMES)

    async def one_then_two() -> None:
        first = await reads.first(params)
        more = await asyncio.gather(reads.first(params), reads.first(params))
        assert first is not None and more == [first, first]

    asyncio.run(one_then_two())
    assert sent == [1, 2]


def test_a_failed_statement_fails_each_read(
        backend: str, demo: dict[str, Any], reader: PostgresReader) -> None:
    reads = GroupRead(reader, bearer.LIVE_MANY, bearer.LIVE_NAMES)
    reader.close()  # the next read finds no connection

    async def two() -> list[Any]:
        params = {"jti": "j", "sub": demo["operator"], "client_id": demo["client_id"]}
        return await asyncio.gather(reads.first(params), reads.first(params),
                                    return_exceptions=True)

    assert [type(found) for found in asyncio.run(two())] == [ReaderError, ReaderError]
