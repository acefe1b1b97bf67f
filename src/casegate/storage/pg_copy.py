"""Many rows into one table by one COPY … FROM STDIN, on PostgreSQL: for the audit writer's
batches (audit.py). An INSERT executemany sends a Bind and an Execute per row and adapts each
row in Python: 30 to 50 µs of the writer's CPU per row (held under the GIL the token endpoint
needs); COPY cost about 7 µs (measured with 500-row batches, bench/README.md).

Rows go in the caller's transaction and in their order; JSON values are serialised as
SQLAlchemy serialises them (json.dumps). A driver error is raised as SQLAlchemy's error for
it, the connection invalidated when it broke, as SQLAlchemy's own execute does: callers
(storage/outage.py) tell an outage from a bug the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import JSON, Connection, Table
from sqlalchemy import exc as sa


def copy_rows(conn: Connection, table: Table, names: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> None:
    """Each row holds the values of `names`, in that order."""
    as_json = [isinstance(table.c[name].type, JSON) for name in names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)))
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([json.dumps(value) if encode else value
                                for value, encode in zip(row, as_json, strict=True)])
    except psycopg.Error as exc:
        broken = driver.broken or driver.closed
        if broken:
            conn.invalidate(exc)
        raise sa.DBAPIError.instance(statement.as_string(driver), None, exc, psycopg.Error,
                                     hide_parameters=True,
                                     connection_invalidated=broken) from exc
