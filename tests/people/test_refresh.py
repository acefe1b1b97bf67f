"""Refresh tokens (RFC 6749 §6): rotated on every use, a reused one revokes its family
(RFC 9700 §4.14.2), revocable (RFC 7009), never wider than the grant, dead once the person's
password changes or the person is disabled."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import operators
from casegate.storage.db import transaction
from fixtures.factories import REVOKE_PATH, TOKEN_PATH
from oauth.jwt_parts import claims_of
from people.conftest import MakeApp
from people.flow import (
    App,
    Person,
    assert_oauth_error,
    create_case,
    full_flow,
    refresh,
)


def renewed(http: TestClient, app: App, token: str, **extra: str) -> dict[str, str]:
    response = refresh(http, app, token, **extra)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def test_each_refresh_rotates_and_reuse_revokes_the_family(http: TestClient, public_app: App,
                                                           person: Person) -> None:
    first = full_flow(http, public_app, person).token
    second = renewed(http, public_app, first["refresh_token"])
    third = renewed(http, public_app, second["refresh_token"])
    tokens = {first["refresh_token"], second["refresh_token"], third["refresh_token"]}
    assert len(tokens) == 3
    assert create_case(http, third["access_token"]).status_code == 201

    # a rotated-out token again: someone else holds a copy
    assert_oauth_error(refresh(http, public_app, second["refresh_token"]), "invalid_grant")

    assert_oauth_error(refresh(http, public_app, third["refresh_token"]), "invalid_grant")
    for token in (first, second, third):
        assert create_case(http, token["access_token"]).status_code == 401


def test_revoking_a_refresh_token_revokes_its_family(http: TestClient, app: App,
                                                     person: Person) -> None:
    token = full_flow(http, app, person).token
    response = http.post(REVOKE_PATH, data={"token": token["refresh_token"],
                                            "token_type_hint": "refresh_token"},
                         auth=(app.client_id, app.secret))
    assert response.status_code == 200
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
    assert create_case(http, token["access_token"]).status_code == 401


def test_a_public_client_revokes_with_its_client_id(http: TestClient, public_app: App,
                                                    person: Person) -> None:
    token = full_flow(http, public_app, person).token
    response = http.post(REVOKE_PATH, data={"token": token["refresh_token"],
                                            "client_id": public_app.client_id})
    assert response.status_code == 200
    assert_oauth_error(refresh(http, public_app, token["refresh_token"]), "invalid_grant")


def test_another_clients_refresh_token_is_refused(http: TestClient, app: App,
                                                  make_app: MakeApp, person: Person) -> None:
    token = full_flow(http, app, person).token
    assert_oauth_error(refresh(http, make_app(), token["refresh_token"]), "invalid_grant")
    # and it was not spent by the attempt
    assert refresh(http, app, token["refresh_token"]).status_code == 200


def test_scope_may_be_narrowed_but_the_grant_keeps_its_own(http: TestClient, app: App,
                                                           person: Person) -> None:
    token = full_flow(http, app, person, scope="cases casetypes").token
    narrow = renewed(http, app, token["refresh_token"], scope="cases")
    assert narrow["scope"] == "cases"
    assert claims_of(narrow["access_token"])["scope"] == "cases"
    again = renewed(http, app, narrow["refresh_token"])
    assert set(again["scope"].split()) == {"cases", "casetypes"}


def test_wider_scope_is_refused(http: TestClient, app: App, person: Person) -> None:
    token = full_flow(http, app, person, scope="cases").token
    assert_oauth_error(refresh(http, app, token["refresh_token"], scope="cases casetypes"),
                       "invalid_scope")


def test_client_credentials_get_no_refresh_token(http: TestClient,
                                                 demo: dict[str, str]) -> None:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200
    assert "refresh_token" not in response.json()


def test_client_without_the_refresh_grant_gets_none(http: TestClient, make_app: MakeApp,
                                                    app: App, person: Person) -> None:
    plain = make_app(grants=["authorization_code"])
    token = full_flow(http, plain, person).token
    assert "refresh_token" not in token
    other = full_flow(http, app, person).token  # a real refresh token, of another client
    response = refresh(http, plain, other["refresh_token"])
    assert_oauth_error(response, "unauthorized_client")


def test_new_password_kills_refresh_tokens(http: TestClient, db: sessionmaker[Session],
                                           app: App, person: Person) -> None:
    token = full_flow(http, app, person).token
    with transaction(db) as session:
        operators.set_password(session, person.operator_id, "a new password, long enough")
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
    assert create_case(http, token["access_token"]).status_code == 401


def test_disabled_operator_cannot_refresh(http: TestClient, db: sessionmaker[Session],
                                          app: App, person: Person) -> None:
    token = full_flow(http, app, person).token
    with transaction(db) as session:
        operators.set_enabled(session, person.operator_id, False)
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
    with transaction(db) as session:
        operators.set_enabled(session, person.operator_id, True)
    # enabling again does not bring back what disabling revoked
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
