"""Everything one server process holds: settings, database, keys, the audit writer."""

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
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    keys: KeyRing
    audit: BatchedAudit
    server: AuthorizationServer
    remote: RemoteClient  # remote case types: calls to producer casegates
