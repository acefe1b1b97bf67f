"""A plain sqlite3 read connection for the event loop's thread: the lookups of the token
endpoint's fast front (web/fast_path.py) without a threadpool hop. Through SQLAlchemy the
same read cost ~5x more (profiled). The statements are SQLAlchemy's own, compiled once for
SQLite, and values come back converted as SQLAlchemy converts them (JSON, booleans)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Dialect, Select
from sqlalchemy.dialects import sqlite

DIALECT = sqlite.dialect()
Converter = Callable[[Any], Any] | None


FLAT = (str, int, float, bool, type(None))


def _remembered(decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`decode` (a JSON column's) remembering what each text decoded to: the same few texts
    (grant types, scopes) come back on every request. Only scalars and flat lists are kept,
    and a list is answered as a new list each time: no caller shares a mutable value."""
    known: dict[str, tuple[bool, Any]] = {}

    def convert(text: Any) -> Any:
        if type(text) is str:
            found = known.get(text)
            if found is not None:
                is_list, kept = found
                return list(kept) if is_list else kept
        value = decode(text)
        if type(text) is str:
            if isinstance(value, list) and all(isinstance(v, FLAT) for v in value):
                entry: tuple[bool, Any] = (True, tuple(value))
            elif isinstance(value, FLAT):
                entry = (False, value)
            else:
                return value
            if len(known) >= 4096:  # bounded: the texts are few, but never grow without end
                known.clear()
            known[text] = entry
        return value

    return convert


def _json_text(text: str | None) -> Any:
    """A JSON column the driver answered as text; SQL NULL (an outer join's) stays None."""
    return None if text is None else json.loads(text)


class Compiled:
    """A statement compiled for a dialect (SQLite's; PostgreSQL's in storage/pg_reader.py)."""

    def __init__(self, statement: Select[Any], dialect: Dialect = DIALECT,
                 json_text: bool = False) -> None:
        """`json_text`: the driver answers JSON columns as text (storage/pg_reader.py), so
        they are decoded here, remembered as SQLite's are."""
        compiled = statement.compile(dialect=dialect)
        self.text = str(compiled)
        self.params = list(compiled.positiontup or [])  # empty for named parameters
        converters = [_remembered(c) if isinstance(column.type, JSON) and c is not None else c
                      for column in statement.selected_columns
                      for c in [column.type.result_processor(dialect, None)
                                or (_json_text if json_text and isinstance(column.type, JSON)
                                    else None)]]
        self.converters = [(i, c) for i, c in enumerate(converters) if c is not None]

    def row(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.converters:
            return values
        converted = list(values)
        for i, convert in self.converters:
            converted[i] = convert(converted[i])
        return tuple(converted)


Cache = dict[int, tuple[Select[Any], Compiled]]


def compile_once(cache: Cache, statement: Select[Any], dialect: Dialect = DIALECT,
                 json_text: bool = False) -> Compiled:
    """Compiled once per statement object (the cache keeps it alive: its id stays its own)."""
    known = cache.get(id(statement))
    if known is None or known[0] is not statement:
        known = (statement, Compiled(statement, dialect, json_text))
        cache[id(statement)] = known
    return known[1]


class SqliteReader:
    """One connection, used on the event loop's thread only, in autocommit (each read sees
    what is committed now).

    The rows a statement read are kept and answered again for as long as SQLite's
    `PRAGMA data_version`, asked before each lookup, stays the same: the database's own
    counter, which changes whenever any other connection, in any process, commits. A kept
    answer is therefore exactly what the query would read now (nothing stale, however
    briefly); under load the one write is the audit writer's, every half second. The pragma
    costs a fifth of the client lookup's join (measured). Rows are kept as SQLite gave them
    and converted on every answer, so no caller shares a mutable value.
    """

    MAX_KEPT = 1024
    VERSION = "PRAGMA data_version"

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._compiled: Cache = {}
        self._kept: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]] = {}
        self._version: int | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # a WAL read waits only in rare cases (WAL recovery); never long on the event
            # loop: after 50 ms it fails (sqlite3.Error), and the caller takes the threadpool
            self._conn = sqlite3.connect(self._path, isolation_level=None,
                                         check_same_thread=False, timeout=0.05)
        return self._conn

    def _compile(self, statement: Select[Any]) -> Compiled:
        return compile_once(self._compiled, statement)

    def rows(self, statement: Select[Any], params: dict[str, Any] | None = None,
             ) -> list[tuple[Any, ...]]:
        """The rows as tuples, in the statement's column order."""
        compiled = self._compile(statement)
        values = tuple([(params or {})[name] for name in compiled.params])
        conn = self._connection()
        version = conn.execute(self.VERSION).fetchone()[0]
        if version != self._version:
            self._kept.clear()
            self._version = version
        key = (compiled.text, values)
        raw = self._kept.get(key)
        if raw is None:
            raw = conn.execute(compiled.text, values).fetchall()
            # kept without asking the pragma again: a commit since it answered can only make
            # these rows newer than `version`, never older, and that commit changes what the
            # next lookup's pragma answers, so they are dropped before anything is answered
            # from them (a second pragma cost a read transaction per miss)
            if len(self._kept) >= self.MAX_KEPT:
                self._kept.clear()
            self._kept[key] = raw
        return [compiled.row(row) for row in raw]

    def first(self, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(statement, params)
        return found[0] if found else None
