"""What commands print: JSON for scripts (--json) or lines for people; errors, never tracebacks."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from casegate.errors import CasegateError


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    elif human is not None:
        typer.echo(human)
    elif isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, value in data.items():
            shown = (", ".join(map(str, value)) if isinstance(value, list)
                     else json.dumps(value) if isinstance(value, dict) else value)
            typer.echo(f"{key:<{width}}  {shown}")
    else:
        typer.echo(str(data))


def emit_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    """A JSON array for scripts; for people, each record as lines with a blank between."""
    if as_json:
        emit(rows, True)
        return
    for index, row in enumerate(rows):
        if index:
            typer.echo("")
        emit(row, False)


def read_text(path: Path | None) -> str | None:
    """A file an option names (keys, certificates), or a clear error."""
    if path is None:
        return None
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CasegateError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def say(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def errors() -> Iterator[None]:
    """A CasegateError (or a database that cannot be used) becomes one line on stderr and
    exit code 1, never a traceback."""
    try:
        yield
    except CasegateError as exc:
        fail(exc.message)
    except Exception as exc:
        from sqlalchemy import exc as exc_sa  # loaded by then: only a database raises these

        if isinstance(exc, exc_sa.ArgumentError | exc_sa.NoSuchModuleError):
            fail("CASEGATE_DATABASE_URL is not a database URL casegate can use "
                 "(sqlite:///FILE or postgresql+psycopg://USER:PASSWORD@HOST/DB)")
        elif isinstance(exc, exc_sa.DBAPIError):
            # the driver's first line says why (refused, no such database, bad password)
            # and holds no password; the URL itself is never printed
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            fail(f"cannot use the database: {reason}")
        raise


def fail(message: str) -> None:
    typer.echo(f"casegate: {message}", err=True)
    sys.exit(1)
