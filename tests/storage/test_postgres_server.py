"""Self-test of the throwaway PostgreSQL server fixture (tests/fixtures/postgres.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy

from fixtures.postgres import ENV_URL, PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def test_databases_are_separate(postgres_server: PostgresServer) -> None:
    first, second = _unique("casegate_a"), _unique("casegate_b")
    url_a = postgres_server.create_database(first)
    url_b = postgres_server.create_database(second)
    assert url_a.startswith("postgresql+psycopg://")
    assert url_b.startswith("postgresql+psycopg://")
    engine_a = sqlalchemy.create_engine(url_a)
    engine_b = sqlalchemy.create_engine(url_b)
    try:
        with engine_a.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE marker (id integer PRIMARY KEY)"))
            conn.execute(sqlalchemy.text("INSERT INTO marker VALUES (1)"))
        with engine_a.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT count(*) FROM marker")).scalar_one() == 1
            assert conn.execute(sqlalchemy.text("SELECT current_database()")).scalar_one() == first
        with engine_b.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT current_database()")).scalar_one() == second
            found = conn.execute(sqlalchemy.text("SELECT to_regclass('public.marker')")).scalar()
            assert found is None
    finally:
        engine_a.dispose()
        engine_b.dispose()
        postgres_server.drop_database(first)
        postgres_server.drop_database(second)


@pytest.mark.skipif(bool(os.environ.get(ENV_URL)), reason="server given by the user")
def test_private_server_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    assert postgres_server.admin_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = sqlalchemy.create_engine(postgres_server.admin_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(sqlalchemy.text("SHOW listen_addresses")).scalar_one()
            assert value == "127.0.0.1"
            assert conn.execute(sqlalchemy.text("SHOW fsync")).scalar_one() == "off"
    finally:
        engine.dispose()
