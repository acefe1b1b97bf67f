"""The password grant (RFC 6749 §4.3): off unless a registration allows it, confidential
clients only, person operators only, throttled per operator and address (SECURITY
Decisions 1 and 8)."""

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.errors import Invalid
from fixtures.factories import make_operator
from people.conftest import MakeApp
from people.flow import PASSWORD, App, Person, assert_oauth_error, created_by


@pytest.fixture
def password_app(make_app: MakeApp) -> App:
    return make_app(grants=["password", "refresh_token"], redirect_uris=[])


def password_grant(http: TestClient, app: App, username: str, password: str
                   ) -> httpx.Response:
    return app.token(http, grant_type="password", username=username, password=password)


def test_refused_unless_the_registration_allows_it(http: TestClient, app: App,
                                                   person: Person) -> None:
    response = password_grant(http, app, person.operator_id, person.password)
    assert_oauth_error(response, "unauthorized_client")


def test_token_acts_as_the_person(http: TestClient, password_app: App, person: Person) -> None:
    response = password_grant(http, password_app, person.operator_id, person.password)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["refresh_token"]
    assert created_by(http, token["access_token"]) == person.operator_id


def test_wrong_password_is_invalid_grant(http: TestClient, password_app: App,
                                         person: Person) -> None:
    response = password_grant(http, password_app, person.operator_id, "not the password")
    assert_oauth_error(response, "invalid_grant")


def test_unknown_operator_is_invalid_grant(http: TestClient, password_app: App) -> None:
    assert_oauth_error(password_grant(http, password_app, "nobody@test", "x"), "invalid_grant")


def test_throttled_after_five_failures(http: TestClient, password_app: App,
                                       person: Person) -> None:
    for _ in range(5):
        response = password_grant(http, password_app, person.operator_id, "guess")
        assert_oauth_error(response, "invalid_grant")
    for password in ("guess", person.password):  # even the right one, while it lasts
        response = password_grant(http, password_app, person.operator_id, password)
        assert_oauth_error(response, "invalid_grant", 429)
        assert 0 < int(response.headers["retry-after"]) <= 900


def test_throttle_is_per_operator(http: TestClient, db: sessionmaker[Session],
                                  password_app: App, person: Person) -> None:
    other = make_operator(db, kind="person", password=PASSWORD)
    for _ in range(5):
        password_grant(http, password_app, person.operator_id, "guess")
    assert password_grant(http, password_app, other, PASSWORD).status_code == 200


def test_service_operators_cannot_use_it(http: TestClient, password_app: App,
                                         demo: dict[str, str]) -> None:
    response = password_grant(http, password_app, demo["operator"], "anything")
    assert_oauth_error(response, "invalid_grant")


def test_public_clients_cannot_use_it(http: TestClient, public_app: App, make_app: MakeApp,
                                      person: Person) -> None:
    with pytest.raises(Invalid):
        make_app(public=True, grants=["password"], redirect_uris=[])
    response = password_grant(http, public_app, person.operator_id, person.password)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert "access_token" not in response.json()
