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
from sqlalchemy import JSON, Connection, Dialect, String, Table
from sqlalchemy import exc as sa
from sqlalchemy.sql.expression import ClauseElement


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
    """The rows of each (table, names, rows), all by one statement: an INSERT … SELECT from
    unnest() of one array per column for each table, the first tables' as data-modifying
    WITH clauses of the last one. One round trip and one statement for the lot, where an
    executemany per table sent a Bind and an Execute per row (psycopg's pipeline: half the
    group-commit writer's CPU, profiled); and one text whatever the number of rows, so
    psycopg parses it once and prepares it (a VALUES list per row was parsed again each
    time). Each table's rows go in their order."""
    text = _inserts(tuple((table, tuple(names)) for table, names, _ in tables), conn.dialect)
    arrays = [[json.dumps(row[i]) if encode else row[i] for row in rows]
              for table, names, rows in tables
              for i, encode in enumerate(_json_columns(table, names))]
    with _driver(conn, text) as driver:
        driver.execute(text, arrays, prepare=True)


def scalar_one(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> Any:
    """The first column of the one row a Core statement answers (as SQLAlchemy's), sent by
    the driver, its text compiled once and prepared by psycopg: SQLAlchemy's execution cost
    several times the round trip (profiled)."""
    text = _compiled.get(statement)
    if text is None:
        text = _compiled[statement] = str(statement.compile(dialect=conn.dialect))
    with _driver(conn, text) as driver:
        row = driver.execute(text, params, prepare=True).fetchone()
    if row is None:
        raise sa.NoResultFound("No row was found when one was required")
    return row[0]


_compiled: dict[ClauseElement, str] = {}


@lru_cache(maxsize=16)
def _inserts(shapes: tuple[tuple[Table, tuple[str, ...]], ...], dialect: Dialect) -> str:
    inserts = [sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(_array_of(table, name, dialect)))
                           for name in names))
        for table, names in shapes]
    clauses = sql.SQL(", ").join(sql.SQL("{} AS ({})").format(sql.Identifier(f"rows_{i}"), q)
                                 for i, q in enumerate(inserts[:-1]))
    return (sql.SQL("WITH {} {}").format(clauses, inserts[-1]) if len(inserts) > 1
            else inserts[0]).as_string(None)


def _array_of(table: Table, name: str, dialect: Dialect) -> str:
    """The element type of a column's array: a string column's without its length, which the
    INSERT then checks (a cast to VARCHAR(n) would cut a longer value silently)."""
    column_type = table.c[name].type
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
