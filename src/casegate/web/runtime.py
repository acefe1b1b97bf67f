"""Everything one server process holds. The authorization server (oauth/server.py) holds what
a request needs (settings, database sessions, keys, the audit writer, the HMAC key, the
issuer); the runtime refers to it, adding what only the web edge needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from casegate.audit import BatchedAudit
from casegate.oauth.keys import KeyRing
from casegate.oauth.server import AuthorizationServer
from casegate.remote.client import RemoteClient
from casegate.settings import Settings
from casegate.storage.db import loop_readers
from casegate.storage.pg_reader import PostgresReader
from casegate.storage.reader import SqliteReader


@dataclass
class Runtime:
    server: AuthorizationServer
    engine: Engine
    remote: RemoteClient  # remote case types: calls to producer casegates
    # the plain readers the fast fronts read with on the event loop's thread (one of them,
    # by the database): shared, so the process holds one connection of each kind
    reader: SqliteReader | None = field(init=False)
    pg: PostgresReader | None = field(init=False)

    def __post_init__(self) -> None:
        self.reader, self.pg = loop_readers(self.engine)

    @property
    def settings(self) -> Settings:
        return self.server.settings

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.server.factory

    @property
    def keys(self) -> KeyRing:
        return self.server.keys

    @property
    def audit(self) -> BatchedAudit:
        return self.server.audit

    @property
    def hmac_key(self) -> bytes:
        return self.server.hmac_key  # read once at start, not from disk per page
