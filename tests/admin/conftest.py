"""A console on each database: the app in-process, the administrator from `casegate init`
with a known password, and a browser-like client for it."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN, PASSWORD, Browser
from casegate.access import operators
from casegate.storage.db import transaction


@pytest.fixture
def browser(http: TestClient, db: sessionmaker[Session], demo: dict[str, Any]) -> Browser:
    with transaction(db) as session:
        operators.set_password(session, ADMIN, PASSWORD)
    return Browser(http)


@pytest.fixture
def signed_in(browser: Browser) -> Browser:
    answer = browser.sign_in()
    assert answer.status_code == 303, answer.text
    return browser
