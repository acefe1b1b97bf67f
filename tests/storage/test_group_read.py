"""The live checks and the client lookups of the requests of one moment, read by one
statement on PostgreSQL (storage/pg_reader.GroupRead with oauth/bearer.LIVE_MANY or
oauth/client_auth.CLIENT_MANY): each request gets the row its own read gets alone, a read
asked once the statement is sent waits for the next one, and a failed statement fails each
of its reads."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from casegate.clients import service as clients
from casegate.oauth import bearer, client_auth
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory, transaction
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


def counted(reader: PostgresReader, monkeypatch: pytest.MonkeyPatch,
            many: Any = bearer.LIVE_MANY, name: str = "jti") -> list[int]:
    """How many reads each statement `many` the reader sent answered."""
    sent: list[int] = []
    rows = reader.rows

    def read(statement: Any, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if statement is many:
            assert params is not None
            sent.append(len(params[name]))
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


def test_each_client_lookup_of_one_moment_gets_its_own_row(
        backend: str, settings: Settings, demo: dict[str, Any], reader: PostgresReader,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The token endpoint's client lookups (client_auth.CLIENT_MANY): the row each ID's
    lookup reads alone, None for an unknown one, the same ID asked twice answered twice."""
    db = session_factory(make_engine(settings.db_url))
    with transaction(db) as session:  # no operator: its group's columns are the join's NULLs
        app, _ = clients.create(session, settings.hmac_key(), name="app", lifetime=3600,
                                operator_id=None, grants=["authorization_code"],
                                redirect_uris=["https://app.example/back"])
    sent = counted(reader, monkeypatch, client_auth.CLIENT_MANY, "client_id")
    asked = [demo["client_id"], "no-such-client", demo["client_id"], "x" * 128,
             app.client_id]
    alone = [reader.first(client_auth.CLIENT_QUERY, {"client_id": c}) for c in asked]
    reads = GroupRead(reader, client_auth.CLIENT_MANY, ("client_id",))

    async def together() -> list[tuple[Any, ...] | None]:
        return await asyncio.gather(*(reads.first({"client_id": c}) for c in asked))

    found = asyncio.run(together())
    assert sent == [5]
    assert found == alone
    assert found[1] is None and found[3] is None and found[0] is not None
    assert found[4] is not None and found[4][0] == app.client_id
    client = client_auth.lookup(reader, demo["client_id"])
    assert client is not None and client.operator is not None
    assert found[0][0] == demo["client_id"] and client.operator.id == demo["operator"]


def test_any_failure_of_the_statement_fails_each_read(
        backend: str, demo: dict[str, Any], reader: PostgresReader,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only the reader's own errors: whatever the statement or its rows raise reaches
    every read waiting on it, which then declines; none waits forever."""
    def broken(statement: Any, params: dict[str, Any] | None = None) -> Any:
        raise TypeError("a row that does not convert")

    monkeypatch.setattr(reader, "rows", broken)
    reads = GroupRead(reader, client_auth.CLIENT_MANY, ("client_id",))

    async def two() -> list[Any]:
        asked = [reads.first({"client_id": demo["client_id"]}) for _ in range(2)]
        return await asyncio.wait_for(asyncio.gather(*asked, return_exceptions=True), 5)

    assert [type(found) for found in asyncio.run(two())] == [ReaderError, ReaderError]
