"""A person operator in the demo access group, and client registrations for the grants of
people."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.app import create_app
from casegate.clients import service as clients
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import make_operator, unique
from people.flow import ISSUER, PASSWORD, REDIRECT, App, Person

MakeApp = Callable[..., App]
HttpWith = Callable[..., TestClient]


@pytest.fixture
def person(db: sessionmaker[Session]) -> Person:
    return Person(make_operator(db, kind="person", password=PASSWORD))


@pytest.fixture
def make_app(db: sessionmaker[Session], settings: Settings) -> MakeApp:
    """make_app(public=False, grants=[authorization_code, refresh_token], redirect_uris=[REDIRECT],
    **more create() arguments) -> App (redirecting to the first redirect URI)."""

    def make(public: bool = False, grants: list[str] | None = None,
             redirect_uris: list[str] | None = None, **more: Any) -> App:
        uris = [REDIRECT] if redirect_uris is None else redirect_uris
        with transaction(db) as session:
            client, secret = clients.create(
                session, settings.hmac_key(), name=unique("app"),
                grants=grants or ["authorization_code", "refresh_token"],
                operator_id=more.pop("operator_id", None), redirect_uris=uris, public=public,
                lifetime=more.pop("lifetime", settings.token_lifetime), **more)
            client_id = client.client_id
        return App(client_id, secret, uris[0] if uris else REDIRECT)

    return make


@pytest.fixture
def app(make_app: MakeApp) -> App:
    """A confidential client with the code and refresh grants."""
    return make_app()


@pytest.fixture
def public_app(make_app: MakeApp) -> App:
    return make_app(public=True)


@pytest.fixture
def http_with(settings: Settings) -> Iterator[HttpWith]:
    """http_with(**settings changes): the app in-process with other settings (same database)."""
    with ExitStack() as stack:
        def make(**changes: Any) -> TestClient:
            app = create_app(settings.model_copy(update=changes))
            return stack.enter_context(TestClient(app, base_url=ISSUER))

        yield make
