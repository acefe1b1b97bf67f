"""One served casegate (SQLite) and one loopback application per test worker; a browser per
module, a fresh browser profile (no cookies) per test."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from e2e_people.flow import Person, create_person, discover
from e2e_people.loopback import Loopback
from fixtures.browser import chromium
from fixtures.served import Served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("people") / "home"
    server = Served(home, f"sqlite:///{home.parent / 'casegate.db'}")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def loopback() -> Iterator[Loopback]:
    app = Loopback().start()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def person(served: Served) -> Person:
    return create_person(served, "Alice Example")


@pytest.fixture(scope="session")
def discovery(served: Served) -> dict[str, Any]:
    return discover(served)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # the served certificate is self-signed; trusting it is the user's step
    profile = browser.new_context(ignore_https_errors=True)
    profile.set_default_timeout(10_000)
    yield profile
    profile.close()
