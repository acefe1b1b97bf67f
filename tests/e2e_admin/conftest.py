"""One served casegate (SQLite, HTTPS) for the console in Chromium; a browser per module; a
fresh profile per test. Screenshots go to tests/artifacts/admin/ (kept, not committed)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from fixtures.browser import chromium
from fixtures.served import Served

ARTIFACTS = Path(__file__).parent.parent / "artifacts" / "admin"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("console") / "home"
    server = Served(home, f"sqlite:///{home.parent / 'casegate.db'}")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # the served certificate is self-signed; trusting it is the user's step
    profile = browser.new_context(ignore_https_errors=True, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    profile.set_default_timeout(15_000)
    yield profile
    profile.close()
