"""Alembic, driven from code so an installed casegate can create and upgrade its own database.

`upgrade` takes a lock first (a PostgreSQL advisory lock; a file lock beside a SQLite file),
so N processes starting together migrate once: the first migrates, the others then find the
database current.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_ID = 0x6361736567617465  # "casegate": the advisory lock every casegate migration takes


def alembic_config(engine: Engine, secret_key: bytes | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    # data migrations that encrypt (signing keys) need the secret key; schema ones do not
    config.attributes["secret_key"] = secret_key
    return config


def upgrade(engine: Engine, secret_key: bytes | None) -> list[str]:
    """Migrate to the newest schema; the revisions applied (none when already current)."""
    with migration_lock(engine):
        before = current_revision(engine)
        if before == head(engine):
            return []
        command.upgrade(alembic_config(engine, secret_key), "head")
        script = ScriptDirectory.from_config(alembic_config(engine))
        return [rev.revision for rev in reversed(list(
            script.iterate_revisions("head", before)))]


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head(engine)
