"""Many rows at once on PostgreSQL: into one table by one COPY … FROM STDIN, for the audit
writer's batches (audit.py); into several tables by one INSERT statement, for the
group-commit writer's batches of cases (cases/service.write_cases). An INSERT executemany
sends a Bind and an Execute per row and adapts each row in Python: 30 to 50 µs of the
writer's CPU per row (held under the GIL the token endpoint needs); COPY cost about 7 µs
(measured with 500-row batches, bench/README.md).

Rows go in the caller's transaction and in their order; JSON values are serialised as
SQLAlchemy serialises them (json.dumps). A driver error is raised as SQLAlchemy's error for
it, the connection invalidated when it broke, as SQLAlchemy's own execute does: callers
(storage/outage.py) tell an outage from a bug the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import JSON, Connection, Table
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


Rows = tuple[Table, Sequence[str], Sequence[Sequence[Any]]]


def insert_rows(conn: Connection, *tables: Rows) -> None:
    """The rows of each (table, names, rows), all by one statement: one multi-row INSERT per
    table, the first tables' as data-modifying WITH clauses of the last one. One round trip
    and one statement for the lot, where an executemany per table sent a Bind and an Execute
    per row (psycopg's pipeline: half the group-commit writer's CPU, profiled). Each table's
    rows go in their order; the statement's text depends only on the tables and the number
    of rows, so psycopg prepares the usual shapes."""
    text = _inserts(tuple((table, tuple(names), len(rows)) for table, names, rows in tables))
    values = [json.dumps(value) if encode else value
              for table, names, rows in tables
              for as_json in [_json_columns(table, names)] for row in rows
              for value, encode in zip(row, as_json, strict=True)]
    with _driver(conn, text) as driver:
        driver.execute(text, values)


@lru_cache(maxsize=512)
def _inserts(shapes: tuple[tuple[Table, tuple[str, ...], int], ...]) -> sql.Composed:
    inserts = [sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join([sql.SQL("({})").format(
            sql.SQL(", ").join([sql.Placeholder()] * len(names)))] * count))
        for table, names, count in shapes]
    if len(inserts) == 1:
        return inserts[0]
    clauses = sql.SQL(", ").join(sql.SQL("{} AS ({})").format(sql.Identifier(f"rows_{i}"), q)
                                 for i, q in enumerate(inserts[:-1]))
    return sql.SQL("WITH {} {}").format(clauses, inserts[-1])


def _json_columns(table: Table, names: Sequence[str]) -> list[bool]:
    return [isinstance(table.c[name].type, JSON) for name in names]


@contextmanager
def _driver(conn: Connection, statement: sql.Composable | str) -> Iterator[psycopg.Connection[Any]]:
    """The psycopg connection under SQLAlchemy's, in its transaction; a driver error comes
    out as SQLAlchemy's error for it, the connection invalidated when it broke."""
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
