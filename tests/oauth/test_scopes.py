"""oauth/scopes.issued on the demo database (SQLite and PostgreSQL): what is issued, and
when every group's scopes are read to tell an unknown scope from one not allowed."""

from collections.abc import Iterator
from typing import Any

import pytest
from authlib.oauth2 import OAuth2Error
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from casegate.oauth import scopes


@pytest.fixture
def statements(db: sessionmaker[Session]) -> Iterator[tuple[Session, list[str]]]:
    """A session on the demo database, and the statements it runs from now on."""
    ran: list[str] = []
    with db() as session:
        engine = session.get_bind()

        def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            ran.append(statement)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield session, ran
        finally:
            event.remove(engine, "before_cursor_execute", listener)


ALLOWED = ["cases", "casetypes"]  # the demo group's scopes; "casegate:admin" is the admin's


@pytest.mark.parametrize(("asked", "issued"), [
    ("cases", "cases"), ("casetypes cases", "cases casetypes"), ("cases cases", "cases")])
def test_asking_what_is_allowed_reads_no_groups(
        statements: tuple[Session, list[str]], asked: str, issued: str) -> None:
    session, ran = statements
    assert scopes.issued(session, asked, ALLOWED) == issued
    assert ran == []


def test_a_known_scope_not_allowed_is_dropped_after_reading_the_groups(
        statements: tuple[Session, list[str]]) -> None:
    session, ran = statements
    assert scopes.issued(session, "cases casegate:admin", ALLOWED) == "cases"
    assert len(ran) == 1 and "access_groups" in ran[0]
    with pytest.raises(OAuth2Error, match="none of the requested scopes is allowed"):
        scopes.issued(session, "casegate:admin", ALLOWED)


@pytest.mark.parametrize("asked", ["nosuchscope", "cases nosuchscope"])
def test_an_unknown_scope_is_refused_even_beside_an_allowed_one(
        statements: tuple[Session, list[str]], asked: str) -> None:
    session, _ran = statements
    with pytest.raises(OAuth2Error, match="unknown scope: nosuchscope"):
        scopes.issued(session, asked, ALLOWED)
