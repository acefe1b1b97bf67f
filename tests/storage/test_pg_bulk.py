"""Many rows at once on PostgreSQL (storage/pg_copy.py): one statement taking the rows as one
JSON text, their fields typed as their columns (record_columns; a JSON value as its own
JSON text), writes the rows of several
tables, in order, in the caller's transaction, with the columns' own checks; execute answers
the statement's rows."""

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    exc,
    select,
)

from casegate.storage.db import make_engine
from casegate.storage.pg_copy import execute, record_columns
from fixtures.postgres import PostgresServer

METADATA = MetaData()
PARENTS = Table("bulk_parents", METADATA, Column("id", String(8), primary_key=True),
                Column("body", JSON), Column("counter", Integer, default=0))
CHILDREN = Table("bulk_children", METADATA, Column("n", Integer, primary_key=True,
                                                   autoincrement=True),
                 Column("parent", ForeignKey("bulk_parents.id")), Column("at", Float))
BUMP = "UPDATE bulk_parents SET counter = counter + %(by)s WHERE id = %(id)s RETURNING counter"


@pytest.fixture
def engine(postgres: PostgresServer) -> Iterator[Engine]:
    engine = make_engine(postgres.create_database("bulk_rows"))
    METADATA.create_all(engine)
    yield engine
    engine.dispose()
    postgres.drop_database("bulk_rows")


def body(i: str) -> dict[str, object]:
    # a NUL is valid JSON (\u0000) that a json column keeps, but has no text form
    return {"i": i, "list": [1, None], "nul\x00": "a\x00b"}


def both(conn: Connection, ids: list[str]) -> None:
    columns = record_columns(conn.dialect, [
        ("id", PARENTS, "id"), ("body", PARENTS, "body"), ("counter", PARENTS, "counter"),
        ("at", CHILDREN, "at")])
    rows = [{"id": i, "body": json.dumps(body(i)), "counter": 0, "at": 0.5 + k}
            for k, i in enumerate(ids)]
    text = (f"WITH r AS (SELECT * FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS "
            f"({columns})) WITH ORDINALITY AS r(id, body, counter, at, n)), "
            f"p AS (INSERT INTO bulk_parents (id, body, counter) SELECT id, body::json, counter "
            f"FROM r ORDER BY n) INSERT INTO bulk_children (parent, at) SELECT id, at FROM r "
            f"ORDER BY n")
    assert execute(conn, text, {"rows": json.dumps(rows)}) == []


def test_rows_of_two_tables_go_in_order_and_commit_with_the_caller(engine: Engine) -> None:
    with engine.connect() as conn:  # nothing begun yet: the caller's commit() commits them
        both(conn, ["b", "a", "c"])
        conn.commit()
    with engine.connect() as conn:
        assert conn.execute(select(PARENTS.c.id, PARENTS.c.body)).all() == [
            (i, body(i)) for i in ["b", "a", "c"]]
        assert conn.execute(select(CHILDREN.c.parent, CHILDREN.c.at)
                            .order_by(CHILDREN.c.n)).all() == [("b", 0.5), ("a", 1.5),
                                                               ("c", 2.5)]


def test_a_rolled_back_transaction_leaves_nothing(engine: Engine) -> None:
    with engine.connect() as conn:
        both(conn, ["x"])
        conn.rollback()
        assert conn.execute(select(PARENTS)).all() == []


@pytest.mark.parametrize("ids", [["toolongvalue"], ["dup", "dup"]])
def test_the_columns_own_checks_hold(engine: Engine, ids: list[str]) -> None:
    # a longer value than VARCHAR(8) is refused, never cut short; a duplicate key too
    with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="(?i)too long|duplicate"):
        both(conn, ids)


def test_execute_answers_the_statements_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        both(conn, ["p"])
    with engine.connect() as conn:
        assert execute(conn, BUMP, {"id": "p", "by": 3}) == [(3,)]
        assert execute(conn, BUMP, {"id": "p", "by": 2}) == [(5,)]
        conn.commit()
        assert execute(conn, BUMP, {"id": "missing", "by": 1}) == []
