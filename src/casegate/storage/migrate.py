"""Alembic, driven from code so an installed casegate can create and upgrade its own database.

`upgrade` takes a lock first (a PostgreSQL advisory lock; a file lock beside a SQLite file),
so N processes starting together migrate once: the first migrates, the others then find the
database current.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_ID = 0x6361736567617465  # "casegate": the advisory lock every casegate migration takes


def alembic_config(engine: Engine, secret_key: bytes | None = None) -> Config:
    from alembic.config import Config

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
        from alembic import command
        from alembic.script import ScriptDirectory

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
    """The newest revision. Read from the migration files' `revision` and `down_revision`
    lines when they form one chain: importing Alembic costs a simple command more than the
    rest of its work. Anything else (branches, merges) is Alembic's to answer."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = REVISION.search(path.read_text())
        if found is None:
            return _alembic_head(engine)
        revisions.add(found["revision"])
        if found["down"] != "None":
            parents.add(found["down"].strip("'\""))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else _alembic_head(engine)


REVISION = re.compile(r"^revision = ['\"](?P<revision>\w+)['\"]\s*\n"
                      r"down_revision = (?P<down>None|'\w+'|\"\w+\")\s*$", re.MULTILINE)


def _alembic_head(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision (alembic_version), None for a database never migrated."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head(engine)
