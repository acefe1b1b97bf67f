"""What a process may keep of rows that rarely change, as long as their version counter in
the database (storage/models/version.py, bumped by triggers) has not moved.

The counter is read by a query that runs on every request anyway (the live check of the
bearer token, oauth/bearer.py), so a change committed by any process is seen at the next
request of every process: what is kept is tagged with the version read before it, and a
newer version empties the lot.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import literal_column, select

from casegate.storage.models import Version

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# roles and case types (their triggers: storage/migrations/versions/0008_access_version.py)
ACCESS = "access"
# the name as a constant of the text, not a parameter: the plain readers of the event loop
# (storage/reader.py, storage/pg_reader.py) bind only the parameters their callers give
ACCESS_VERSION = (select(Version.value).where(Version.name == literal_column(f"'{ACCESS}'"))
                  .scalar_subquery().label("access_version"))


_ALL: list[Kept[Any, Any]] = []


def forget_all() -> None:
    """For an app of another database in this process (create_app): nothing kept is its."""
    for kept in _ALL:
        kept.forget()


class Kept(Generic[K, V]):
    """One process's rows by key, valid for one version of the counter."""

    def __init__(self, size: int = 1000) -> None:
        self._size = size
        self._version: int | None = None
        self._rows: dict[K, V] = {}
        _ALL.append(self)

    def forget(self) -> None:
        self._rows, self._version = {}, None

    def get(self, version: int | None, key: K, load: Callable[[], V]) -> V:
        """The row kept for this version, else load(), kept unless it is None (a key that
        names nothing: any caller could fill the lot with those) or the version is None (a
        database without the counter keeps nothing)."""
        if version is None:
            return load()
        # any other version empties the lot, a lower one too: a request that read the
        # counter before a change (its rows, loaded now, are only newer), or a database
        # whose counter went back (a restored backup, a promoted replica), where keeping the
        # rows until it climbs back to the same number would answer another state's rows
        if version != self._version:
            self._rows, self._version = {}, version
        try:
            return self._rows[key]
        except KeyError:
            pass
        rows = self._rows
        value = load()
        if value is not None and len(rows) < self._size:  # (a bound, not a policy)
            rows[key] = value
        return value
