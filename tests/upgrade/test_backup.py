"""`casegate backup FILE`: a consistent copy of a SQLite database while casegate writes to it;
PostgreSQL is pointed to pg_dump."""

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casegate.settings import Settings
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.factories import CASES_PATH, SEED_BODY, bearer, get_token
from fixtures.served import cli


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_backup_taken_while_cases_are_written_is_a_usable_database(
        settings: Settings, demo: dict[str, Any], http: TestClient, tmp_path: Path) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    first = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).json()["ID"]
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            assert http.post(CASES_PATH, json=SEED_BODY,
                             headers=bearer(token)).status_code == 201

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        copy = tmp_path / "copy.db"
        answer = as_json(cli(user_shell(settings), "backup", str(copy), "--json"))
    finally:
        stop.set()
        writer.join()
    assert answer["backup"] == str(copy.resolve())
    assert copy.stat().st_mode & 0o077 == 0  # it holds client-secret hashes: owner only
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert (first,) in conn.execute("SELECT id FROM cases").fetchall()
    restored = user_shell(settings) | {"CASEGATE_DATABASE_URL": f"sqlite:///{copy}"}
    listed = as_json(cli(restored, "client", "list", "--json"))
    assert demo["client_id"] in [c["client_id"] for c in listed]
    assert as_json(cli(restored, "keys", "list", "--json"))[0]["status"] == "current"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_backup_never_overwrites_a_file(settings: Settings, tmp_path: Path) -> None:
    existing = tmp_path / "precious"
    existing.write_text("keep me")
    result = cli(user_shell(settings), "backup", str(existing), check=False)
    assert_fails_cleanly(result, "exists")
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_postgresql_backup_is_pointed_to_pg_dump(settings: Settings, tmp_path: Path) -> None:
    result = cli(user_shell(settings), "backup", str(tmp_path / "x"), check=False)
    assert_fails_cleanly(result, "pg_dump")
    assert not (tmp_path / "x").exists()
