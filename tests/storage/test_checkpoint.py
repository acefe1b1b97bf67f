"""WAL checkpoints off the request path (storage/checkpoint.py): under a steady load of case
creations through HTTP, on two worker processes, the SQLite WAL stays bounded, what was
created is copied on into the database file while the server runs, and every acknowledged
case is readable by another process."""

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH
from fixtures.served import Served

CLIENTS = 8
CREATIONS = 2400  # unchecked, the WAL would pass 20 MB (about 10 pages per commit)
WAL_BOUND = 16 * 1024 * 1024  # 1000 pages, what half a second of commits adds, and room


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
        largest = 0
        done = threading.Event()

        def watch() -> None:
            nonlocal largest
            while not done.wait(0.02):
                largest = max(largest, wal.stat().st_size if wal.exists() else 0)

        watcher = threading.Thread(target=watch)
        watcher.start()
        clients = [threading.Thread(target=create_cases,
                                    args=(served, CREATIONS // CLIENTS, created))
                   for _ in range(CLIENTS)]
        try:
            for client in clients:
                client.start()
            for client in clients:
                client.join(timeout=300)
        finally:
            done.set()
            watcher.join()
        assert len(created) == CREATIONS
        assert 0 < largest <= WAL_BOUND
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
