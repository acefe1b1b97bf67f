"""Shared fixtures: settings on each database (SQLite and PostgreSQL), the app, factories."""

import pathlib
import sys

# make tests/ importable, so test modules can `from fixtures.postgres import PostgresServer`
sys.path.insert(0, str(pathlib.Path(__file__).parent))

import os  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from fixtures.postgres import PostgresServer  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from casegate import bootstrap  # noqa: E402
from casegate.app import create_app  # noqa: E402
from casegate.settings import Settings  # noqa: E402
from casegate.storage.db import make_engine, session_factory  # noqa: E402

KEPT_ENV = {"CASEGATE_TEST_POSTGRES_URL"}
BASE_URL = "https://127.0.0.1:8443"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own CASEGATE_* variables must not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("CASEGATE_") and name not in KEPT_ENV:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """Every test that uses the database runs on both engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'casegate.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def settings(tmp_path: pathlib.Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def demo(settings: Settings) -> dict[str, Any]:
    """`casegate init --demo` on a fresh database: the seeds' client, operator, case type."""
    result = bootstrap.init(settings, demo=True)
    return dict(result["demo"])


@pytest.fixture
def db(settings: Settings, demo: dict[str, Any]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def http(settings: Settings, demo: dict[str, Any]) -> Iterator[TestClient]:
    """The real app in-process (no socket); lifespan runs, so keys and audit are live."""
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        yield client
