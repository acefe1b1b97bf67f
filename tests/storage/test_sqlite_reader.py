"""The token endpoint's SQLite reader: what it answers again is exactly what the database
holds now (a commit by any other connection is seen at the next read), and no caller can
change what another one reads."""

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from casegate.clients import service as clients
from casegate.oauth import client_auth
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.reader import SqliteReader

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def reader_of(settings: Settings) -> SqliteReader:
    return SqliteReader(settings.db_url.split("///", 1)[1])


def test_a_commit_elsewhere_is_read_at_the_next_lookup(
        settings: Settings, demo: dict[str, Any], db: sessionmaker[Session]) -> None:
    reader = reader_of(settings)
    client_id = demo["client_id"]
    for _ in range(3):  # read again and again: answered from what was kept
        found = client_auth.lookup(reader, client_id)
        assert found is not None and found.registration.enabled
        assert found.registration.token_lifetime == 3600
    with transaction(db) as session:
        clients.set_enabled(session, client_id, False)
    found = client_auth.lookup(reader, client_id)
    assert found is not None and not found.registration.enabled
    with transaction(db) as session:
        clients.set_lifetime(session, client_id, 60)
    found = client_auth.lookup(reader, client_id)
    assert found is not None and found.registration.token_lifetime == 60
    assert client_auth.lookup(reader, "no-such-client") is None


def test_a_caller_changing_a_list_it_was_given_changes_nothing_for_the_next(
        settings: Settings, demo: dict[str, Any]) -> None:
    reader = reader_of(settings)
    first = client_auth.lookup(reader, demo["client_id"])
    assert first is not None and first.group is not None
    assert first.registration.grant_types == ["client_credentials"]
    first.registration.grant_types.append("password")
    first.group.scopes.append("admin")
    again = client_auth.lookup(reader, demo["client_id"])
    assert again is not None and again.group is not None
    assert again.registration.grant_types == ["client_credentials"]
    assert "admin" not in again.group.scopes


def test_each_commit_of_another_process_is_read_at_the_next_lookup(
        settings: Settings, demo: dict[str, Any]) -> None:
    """What the reader kept is checked against the database's data_version, which another
    process's commit (here the CLI's sqlite3, one connection per change) updates."""
    path = settings.db_url.split("///", 1)[1]
    reader = reader_of(settings)
    client_id = demo["client_id"]
    found = client_auth.lookup(reader, client_id)
    assert found is not None and found.registration.token_lifetime == 3600
    for lifetime in (61, 62, 63, 64):  # each read once before the change: kept
        change = (f"import sqlite3; c = sqlite3.connect({path!r}, isolation_level=None); "
                  f"c.execute('UPDATE client_registrations SET token_lifetime = {lifetime} "
                  f"WHERE client_id = ?', ({client_id!r},)); c.close()")
        subprocess.run([sys.executable, "-c", change], check=True)
        for _ in range(2):
            found = client_auth.lookup(reader, client_id)
            assert found is not None and found.registration.token_lifetime == lifetime
    # a checkpoint that empties the WAL, then one more change
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({path!r}); "
                    "c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()"], check=True)
    found = client_auth.lookup(reader, client_id)
    assert found is not None and found.registration.token_lifetime == 64
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({path!r}, "
                    "isolation_level=None); c.execute('UPDATE client_registrations SET "
                    f"enabled = 0 WHERE client_id = ?', ({client_id!r},)); c.close()"],
                   check=True)
    found = client_auth.lookup(reader, client_id)
    assert found is not None and not found.registration.enabled


class CommitBetween:
    """The reader's connection, with one commit of another connection made right after a
    statement of one kind (the data_version pragma, or the lookup) has been read whole."""

    def __init__(self, conn: sqlite3.Connection, after: str, commit: Callable[[], None]) -> None:
        self.conn, self.after, self.pending = conn, after, [commit]

    def execute(self, sql: str, params: Any = ()) -> "Rows":
        rows = self.conn.execute(sql, params).fetchall()
        kind = "pragma" if sql.startswith("PRAGMA") else "lookup"
        if self.pending and kind == self.after:
            self.pending.pop()()
        return Rows(rows)


class Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchone(self) -> Any:
        return self.rows[0]

    def fetchall(self) -> list[Any]:
        return self.rows


@pytest.mark.parametrize("after", ["pragma", "lookup"])
def test_a_commit_while_a_lookup_reads_is_read_at_the_next_lookup(
        settings: Settings, demo: dict[str, Any], after: str) -> None:
    """A commit landing between the reader's data_version check and its query, or just
    after the query, never leaves a kept row older than what the database holds."""
    path = settings.db_url.split("///", 1)[1]
    client_id = demo["client_id"]

    def set_lifetime(seconds: int) -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("UPDATE client_registrations SET token_lifetime = ? WHERE client_id = ?",
                      (seconds, client_id))
        other.close()

    reader = reader_of(settings)
    found = client_auth.lookup(reader, client_id)
    assert found is not None and found.registration.token_lifetime == 3600
    set_lifetime(70)  # what was kept goes: the next lookup runs its query
    reader._conn = CommitBetween(reader._connection(), after,  # type: ignore[assignment]
                                 lambda: set_lifetime(61))
    found = client_auth.lookup(reader, client_id)
    assert found is not None
    # read after the commit, or just before it
    assert found.registration.token_lifetime == (61 if after == "pragma" else 70)
    for _ in range(2):
        found = client_auth.lookup(reader, client_id)
        assert found is not None and found.registration.token_lifetime == 61
