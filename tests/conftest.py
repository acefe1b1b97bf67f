"""Shared fixtures: settings on each database (SQLite and PostgreSQL), the app, factories."""

import pathlib
import sys

# make tests/ importable, so test modules can `from fixtures.postgres import PostgresServer`
sys.path.insert(0, str(pathlib.Path(__file__).parent))

from fixtures.bytecode import keep_bytecode  # noqa: E402

keep_bytecode()  # before the heavy imports below

import os  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from casegate import bootstrap  # noqa: E402
from casegate.app import create_app  # noqa: E402
from casegate.settings import Settings  # noqa: E402
from casegate.storage.db import make_engine, session_factory  # noqa: E402
from fixtures.postgres import PostgresServer  # noqa: E402

# how the tests are spread over pytest-xdist workers
pytest_plugins = ["fixtures.distribution"]

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
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that uses the database runs on both engines."""
    return str(request.param)


def scratch_database(server: PostgresServer, prefix: str,
                     template: str = "template0") -> Iterator[str]:
    """A new PostgreSQL database, dropped when its test is done (hundreds of them left to the
    end of the run made the cluster's stop and removal take most of a minute)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    yield server.create_database(name, template=template)
    server.drop_database(name)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest,
                 tmp_path: pathlib.Path) -> Iterator[str]:
    """An empty database, for tests that initialise it themselves (`casegate init`)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'casegate.db'}"
        return
    yield from scratch_database(request.getfixturevalue("postgres"), "t")


@dataclass(frozen=True)
class Template:
    """A database and home made once by `casegate init --demo`, copied for each test."""

    home: pathlib.Path
    database: str  # the SQLite file, or the PostgreSQL database name
    demo: dict[str, Any]


def _initialise(home: pathlib.Path, url: str) -> dict[str, Any]:
    result = bootstrap.init(Settings(home=home, database_url=url), demo=True)
    return dict(result["demo"])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    home = tmp_path_factory.mktemp("template-sqlite")
    path = home / "casegate.db"
    # init disposes its engine: the WAL is checkpointed into the file, which can be copied
    return Template(home, str(path), _initialise(home, f"sqlite:///{path}"))


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer,
                      tmp_path_factory: pytest.TempPathFactory) -> Template:
    name = f"template_{uuid.uuid4().hex[:12]}"
    home = tmp_path_factory.mktemp("template-postgres")
    return Template(home, name, _initialise(home, postgres.create_database(name)))


@pytest.fixture
def initialised(backend: str, request: pytest.FixtureRequest,
                tmp_path: pathlib.Path) -> Iterator[tuple[Settings, dict[str, Any]]]:
    """A copy of the initialised template: the same as a fresh `casegate init --demo`
    (migrations, signing key, administrator, the seeds' demo), without paying for it again."""
    home = tmp_path / "home"
    database: Iterator[str] = iter(())
    if backend == "sqlite":
        template: Template = request.getfixturevalue("sqlite_template")
        shutil.copytree(template.home, home)
        url = f"sqlite:///{home / 'casegate.db'}"
    else:
        template = request.getfixturevalue("postgres_template")
        shutil.copytree(template.home, home)
        database = scratch_database(request.getfixturevalue("postgres"), "t",
                                    template=template.database)
        url = next(database)
    demo = dict(template.demo)
    demo["credentials_file"] = str(home / pathlib.Path(demo["credentials_file"]).name)
    yield Settings(home=home, database_url=url), demo
    next(database, None)  # drops it


@pytest.fixture
def settings(initialised: tuple[Settings, dict[str, Any]]) -> Settings:
    return initialised[0]


@pytest.fixture
def demo(initialised: tuple[Settings, dict[str, Any]]) -> dict[str, Any]:
    """What `casegate init --demo` answered: the seeds' client, operator, case type."""
    return initialised[1]


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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database for a served casegate that a module's tests share, on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('module-db') / 'casegate.db'}"
        return
    yield from scratch_database(request.getfixturevalue("postgres"), "m")

