"""Everything one server process holds. The authorization server (oauth/server.py) holds what
a request needs (settings, database sessions, keys, the audit writer, the HMAC key, the
issuer); the runtime refers to it, adding what only the web edge needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from casegate.audit import BatchedAudit
from casegate.oauth.keys import KeyRing
from casegate.oauth.server import AuthorizationServer
from casegate.remote.client import RemoteClient
from casegate.settings import Settings


@dataclass
class Runtime:
    server: AuthorizationServer
    engine: Engine
    remote: RemoteClient  # remote case types: calls to producer casegates

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
