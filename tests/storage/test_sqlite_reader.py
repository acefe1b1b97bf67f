"""The token endpoint's SQLite reader: what it answers again is exactly what the database
holds now (a commit by any other connection is seen at the next read), and no caller can
change what another one reads."""

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
