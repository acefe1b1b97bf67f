"""Many rows at once on PostgreSQL: into one table by one COPY … FROM STDIN, for the audit
writer's batches (audit.py); into several tables by one statement taking the rows as one JSON
text (json_to_recordset with record_columns, execute), for the group-commit writer's batches
of cases (cases/service.write_cases). An INSERT executemany sends a Bind and an Execute per row and
adapts each row in Python: 30 to 50 µs of the writer's CPU per row (held under the GIL the
token endpoint needs); COPY cost about 7 µs (measured with 500-row batches, bench/README.md);
one statement of rows as one JSON text is one round trip and one text whatever the number
of rows, so psycopg parses it once and prepares it.

Rows go in the caller's transaction and in their order; JSON values are serialised as
SQLAlchemy serialises them (json.dumps). A driver error is raised as SQLAlchemy's error for
it, the connection invalidated when it broke, as SQLAlchemy's own execute does: callers
(storage/outage.py) tell an outage from a bug the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import JSON, Connection, Dialect, String, Table
from sqlalchemy import exc as sa


def copy_rows(conn: Connection, table: Table, names: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> None:
    """Each row holds the values of `names`, in that order."""
    as_json = _json_columns(table, names)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)))
    with _driver(conn, statement) as driver, driver.cursor() as cursor, \
            cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([json.dumps(value) if encode else value
                            for value, encode in zip(row, as_json, strict=True)])


def execute(conn: Connection, text: str, params: dict[str, Any] | Sequence[Any]
            ) -> list[tuple[Any, ...]]:
    """The rows a statement in psycopg's placeholders answers, sent by the driver and
    prepared by it, in the caller's transaction (or as its own, on an autocommit
    connection)."""
    with _driver(conn, text) as driver:
        cursor = driver.execute(text, params, prepare=True)
        return cursor.fetchall() if cursor.description is not None else []


def record_columns(dialect: Dialect, fields: Sequence[tuple[str, Table, str]]) -> str:
    """The column definitions of json_to_recordset for (name, table, column) fields, each
    of its column's type; a JSON column's as TEXT: its value goes as its own JSON text (a
    string, json.dumps of the value), which the statement casts back with ::json.
    json_to_recordset unescapes every string of its input, and a \\u0000 (valid JSON, kept
    exactly by a json column) has no text form: nested as it is, it failed the statement."""
    return ", ".join(f"{name} {_column_type(table, column, dialect)}"
                     for name, table, column in fields)


def _column_type(table: Table, name: str, dialect: Dialect) -> str:
    """A column's type, a string column's without its length, which the INSERT then checks
    (a cast to VARCHAR(n) would cut a longer value silently)."""
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        return "TEXT"
    return "VARCHAR" if isinstance(column_type, String) else column_type.compile(dialect=dialect)


def _json_columns(table: Table, names: Sequence[str]) -> list[bool]:
    return [isinstance(table.c[name].type, JSON) for name in names]


@contextmanager
def _driver(conn: Connection, statement: sql.Composable | str) -> Iterator[psycopg.Connection[Any]]:
    """The psycopg connection under SQLAlchemy's, in its transaction; a driver error comes
    out as SQLAlchemy's error for it, the connection invalidated when it broke."""
    if not conn.in_transaction():  # SQLAlchemy's, so that the caller's commit() commits
        conn.begin()
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        yield driver
    except psycopg.Error as exc:
        broken = driver.broken or driver.closed
        if broken:
            conn.invalidate(exc)
        text = statement if isinstance(statement, str) else statement.as_string(driver)
        raise sa.DBAPIError.instance(text, None, exc, psycopg.Error, hide_parameters=True,
                                     connection_invalidated=broken) from exc
