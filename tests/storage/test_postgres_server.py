"""Self-test of the throwaway PostgreSQL server fixture (tests/fixtures/postgres.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

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


@pytest.mark.skipif(bool(os.environ.get(ENV_URL)), reason="server given by the user")
def test_a_cluster_left_by_a_killed_process_is_stopped_by_the_next_one(tmp_path: Path) -> None:
    """A pytest worker that crashes runs no clean-up: its cluster would keep running. The next
    cluster started beside it stops it and removes its directory."""
    started = subprocess.Popen(
        [sys.executable, "-c", ORPHAN], cwd=Path(__file__).parent.parent / "fixtures",
        stdout=subprocess.PIPE, text=True)
    try:
        assert started.stdout is not None
        tmpdir, pid = started.stdout.readline().split()
    finally:
        started.kill()  # SIGKILL: no atexit, no fixture teardown
        started.wait()
    postmaster = int(pid)
    assert Path(f"/proc/{postmaster}").exists() and Path(tmpdir).exists()

    beside = PostgresServer()
    beside.start()
    try:
        assert not Path(tmpdir).exists()
        for _ in range(100):  # the postmaster is gone (a zombie is init's to reap)
            if not Path(f"/proc/{postmaster}/cmdline").exists() \
                    or not Path(f"/proc/{postmaster}/cmdline").read_bytes():
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"postmaster {postmaster} still runs")
    finally:
        beside.stop()


ORPHAN = """
from postgres import PostgresServer
server = PostgresServer()
server.start()
print(server._tmpdir, server._read_pid(), flush=True)
import time
time.sleep(600)
"""
