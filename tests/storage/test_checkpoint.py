"""WAL checkpoints off the request path (storage/checkpoint.py): under a steady load of case
creations through HTTP, on two worker processes, the SQLite WAL stays bounded, what was
created is copied on into the database file while the server runs, and every acknowledged
case is readable by another process."""

import shutil
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import wait
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, insert

from casegate.storage import checkpoint
from casegate.storage.db import make_engine
from casegate.storage.group_commit import GroupCommit
from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH
from fixtures.served import Served

CLIENTS = 8
CREATIONS = 3200  # unchecked, the WAL would pass 40 MB (about 10 pages per commit)
# checkpoint.LIMIT_FRAMES pages (16 MB), what half a second of commits adds, and room
WAL_BOUND = 24 * 1024 * 1024


def create_cases(served: Served, count: int, created: list[str]) -> None:
    demo = served.demo
    with served.client() as client:
        token = client.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                            auth=(demo["client_id"], demo["client_secret"])
                            ).json()["access_token"]
        for _ in range(count):
            answer = client.post(CASES_PATH, json=SEED_BODY,
                                 headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 201, answer.text
            created.append(answer.json()["ID"])


class WalWatch:
    """The largest size the WAL beside `database` had while the block ran, read every
    `every` seconds."""

    def __init__(self, wal: Path, every: float) -> None:
        self.wal, self.every, self.largest = wal, every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        while not self._done.wait(self.every):
            size = self.wal.stat().st_size if self.wal.exists() else 0
            self.largest = max(self.largest, size)

    def __enter__(self) -> "WalWatch":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()


def case_ids(database: Path) -> set[str]:
    conn = sqlite3.connect(database)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM cases")}
    finally:
        conn.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_wal_stays_bounded_under_a_steady_load_and_every_case_is_readable(
        database_url: str, tmp_path: Path) -> None:
    database = Path(database_url.removeprefix("sqlite:///"))
    wal = database.with_name(database.name + "-wal")
    served = Served(tmp_path / "home", database_url, workers=2).start()
    try:
        created: list[str] = []
        clients = [threading.Thread(target=create_cases,
                                    args=(served, CREATIONS // CLIENTS, created))
                   for _ in range(CLIENTS)]
        with WalWatch(wal, 0.02) as watch:
            for client in clients:
                client.start()
            for client in clients:
                client.join(timeout=300)
        assert len(created) == CREATIONS
        assert 0 < watch.largest <= WAL_BOUND
        # read by this process while the server runs: every acknowledged case
        assert case_ids(database) >= set(created)
        # the database file alone (the WAL left behind) holds most of them already: they were
        # checkpointed while the load went on, not only when the server stopped (copied once
        # the last checkpoint, at most half a second after the last commit, is over)
        time.sleep(2)
        alone = tmp_path / "alone" / "casegate.db"
        alone.parent.mkdir()
        shutil.copyfile(database, alone)
        assert len(case_ids(alone) & set(created)) >= CREATIONS // 2
    finally:
        served.stop()


ROWS = Table("checkpoint_rows", MetaData(), Column("id", Integer, primary_key=True),
             Column("body", String(2000)))


def write_rows(conn: Connection, items: Sequence[int]) -> list[int]:
    conn.execute(insert(ROWS), [{"id": i, "body": "x" * 1500} for i in items])
    return list(items)


def test_the_wal_starts_again_though_a_write_is_always_under_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # two processes' group-commit writers (two engines on one file) taking turns on the lock
    # file: a transaction is nearly always open, so SQLite itself never starts the WAL
    # again; the checkpoint with the writers paused does
    monkeypatch.setattr(checkpoint, "LIMIT_FRAMES", 200)
    monkeypatch.setattr(checkpoint, "INTERVAL", 0.05)
    path = tmp_path / "steady.db"
    wal = path.with_name(path.name + "-wal")
    engines = [make_engine(f"sqlite:///{path}"), make_engine(f"sqlite:///{path}")]
    ROWS.create(engines[0])
    try:
        with WalWatch(wal, 0.01) as watch:
            writers = [GroupCommit(engine) for engine in engines]
            futures = [writers[i % 2].submit(write_rows, i) for i in range(1, 8001)]
            wait(futures, timeout=120)
            assert [f.result() for f in futures] == list(range(1, 8001))
    finally:
        for engine in engines:
            engine.dispose()
    # without the paused checkpoint it passes 20 MB (about 6,000 pages)
    assert 0 < watch.largest <= 12 * 1024 * 1024
