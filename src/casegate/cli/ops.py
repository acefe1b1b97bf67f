"""Operations: `casegate keys …`, `casegate db upgrade`, `casegate backup FILE`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from casegate.cli import context
from casegate.cli.output import emit, emit_rows, errors, say
from casegate.errors import CasegateError

keys_app = typer.Typer(help="Signing keys: list them, rotate them.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _when(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="seconds")


@keys_app.command("list")
def keys_list(as_json: Json = False) -> None:
    """The published signing keys, oldest first (never their private parts)."""
    from casegate.oauth import keys

    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = keys.published(session)
            shown: list[dict[str, Any]] = [{
                "kid": row.kid, "alg": row.alg,
                "status": "current" if row.retired_at is None else "retired",
                "created_at": _when(row.created_at), "retired_at": _when(row.retired_at),
                "published_until": _when(row.published_until),
            } for row in rows]
        emit_rows(shown, as_json)


@keys_app.command("rotate")
def keys_rotate(
    alg: Annotated[str | None, typer.Option(
        "--alg", help="ES256 or RS256 [CASEGATE_SIGNING_ALG, ES256].")] = None,
    as_json: Json = False,
) -> None:
    """A new signing key now; the old one keeps verifying its tokens until they expire.
    Every serving process picks the new key up within 30 seconds, without a restart."""
    from casegate.crypto import Sealer
    from casegate.oauth import keys

    with errors():
        cfg = context.settings(signing_alg=alg)
        sealer = Sealer(cfg.hmac_key())
        with context.database(cfg) as session:
            row = keys.rotate(session, cfg, sealer)
            assert row is not None
            retired = [{"kid": r.kid, "published_until": _when(r.published_until)}
                       for r in keys.published(session) if r.retired_at is not None]
            made = {"kid": row.kid, "alg": row.alg, "retired": retired}
        emit(made, as_json, f"new signing key {row.kid} ({row.alg})")


@db_app.callback()
def db_group() -> None:
    """The database schema."""  # a callback keeps `db` a group while it has one command


@db_app.command("upgrade")
def db_upgrade(as_json: Json = False) -> None:
    """Migrate the database to this casegate's schema (safe to run again, and from several
    processes at once: one migrates, the others wait for it). `serve` does it at start too."""
    with errors():
        cfg = context.settings()
        applied = upgrade_database(cfg)
        emit({"applied": applied}, as_json,
             f"upgraded: {', '.join(applied)}" if applied else "already current")


def upgrade_database(cfg: Any) -> list[str]:
    """The migrations to the newest schema, under the migration lock; the revisions applied.
    A database `casegate init` never made is refused: init creates the records too."""
    from casegate.storage.db import make_engine
    from casegate.storage.migrate import current_revision, upgrade

    engine = make_engine(cfg.db_url)
    try:
        if current_revision(engine) is None:
            raise CasegateError("the database is not initialised: run `casegate init`")
        return upgrade(engine, cfg.hmac_key())
    finally:
        engine.dispose()


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (must not exist).")],
    as_json: Json = False,
) -> None:
    """A consistent copy of a SQLite database while casegate runs (SQLite's online backup).
    PostgreSQL: use pg_dump (see the README). Keep the secret key too: without it the
    copy's client secrets and signing keys cannot be used."""
    import sqlite3

    from sqlalchemy.engine import make_url

    with errors():
        cfg = context.settings()
        url = make_url(cfg.db_url)
        if url.get_backend_name() != "sqlite":
            raise CasegateError("backup copies SQLite databases; for PostgreSQL use pg_dump "
                                "(pg_dump -Fc -f FILE DBNAME)")
        source_path = Path(url.database or "")
        if not source_path.is_file():
            raise CasegateError(f"no database at {source_path}: run `casegate init`")
        if file.exists():
            raise CasegateError(f"{file} exists: choose a new file")
        partial = file.with_name(file.name + ".partial")
        source = sqlite3.connect(source_path)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise CasegateError(f"backup failed: {exc}") from None
        finally:
            source.close()
        partial.chmod(0o600)
        partial.rename(file)
        emit({"backup": str(file.resolve()), "bytes": file.stat().st_size}, as_json,
             f"backup written to {file}")
        if not as_json:
            say("keep the secret key (CASEGATE_SECRET_KEY or secret.key) with it, apart: "
                "the copy's signing keys are encrypted under it")
