"""Consent is remembered per person and client, asked again with prompt=consent or for a
wider scope, and withdrawn with every token it led to."""

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.oauth import consents
from casegate.storage.db import transaction
from people.flow import (
    App,
    Person,
    assert_oauth_error,
    authorize,
    authorize_query,
    create_case,
    full_flow,
    is_consent_page,
    pkce,
    redirected_to,
    refresh,
)


def ask(http: TestClient, app: App, **params: str | None) -> httpx.Response:
    return authorize(http, authorize_query(app, pkce()[1], **params))


def test_second_authorization_goes_straight_back(http: TestClient, app: App,
                                                 person: Person) -> None:
    full_flow(http, app, person, scope="cases casetypes")
    back = redirected_to(ask(http, app, scope="cases casetypes"), app)
    assert "code" in back
    # a part of what was allowed needs no new consent either
    assert "code" in redirected_to(ask(http, app, scope="cases"), app)


def test_prompt_consent_asks_again(http: TestClient, app: App, person: Person) -> None:
    full_flow(http, app, person)
    assert is_consent_page(ask(http, app, prompt="consent"))


def test_a_wider_scope_asks_again(http: TestClient, app: App, person: Person) -> None:
    full_flow(http, app, person, scope="cases")
    page = ask(http, app, scope="cases openid")
    assert is_consent_page(page)
    assert "openid" in page.text


def test_consent_is_per_client(http: TestClient, app: App, public_app: App,
                               person: Person) -> None:
    full_flow(http, app, person)
    assert is_consent_page(ask(http, public_app))


def test_withdrawn_consent_asks_again_and_revokes(http: TestClient, db: sessionmaker[Session],
                                                  app: App, person: Person) -> None:
    token = full_flow(http, app, person).token
    with transaction(db) as session:
        assert consents.withdraw(session, person.operator_id, app.client_id) == 1
    assert is_consent_page(ask(http, app))
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
    assert create_case(http, token["access_token"]).status_code == 401
