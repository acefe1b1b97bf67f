"""Authorization codes: single use (a replay revokes what the code gave, RFC 6749 §4.1.2),
bound to their client and redirect URI, short-lived."""

import time

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.db import transaction
from casegate.storage.models import AuthorizationCode
from people.conftest import MakeApp
from people.flow import (
    App,
    Person,
    assert_oauth_error,
    code_for,
    create_case,
    exchange,
    refresh,
)

OTHER_REDIRECT = "https://app.example.com/other-callback"


def test_replayed_code_fails_and_revokes_what_it_gave(http: TestClient, app: App,
                                                      person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    first = exchange(http, app, code, verifier)
    assert first.status_code == 200
    token = first.json()
    assert create_case(http, token["access_token"]).status_code == 201

    assert_oauth_error(exchange(http, app, code, verifier), "invalid_grant")

    assert create_case(http, token["access_token"]).status_code == 401
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")


def test_replay_after_refresh_revokes_the_refreshed_tokens_too(http: TestClient, app: App,
                                                               person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    first = exchange(http, app, code, verifier).json()
    renewed = refresh(http, app, first["refresh_token"]).json()
    assert create_case(http, renewed["access_token"]).status_code == 201

    assert_oauth_error(exchange(http, app, code, verifier), "invalid_grant")

    assert create_case(http, renewed["access_token"]).status_code == 401
    assert_oauth_error(refresh(http, app, renewed["refresh_token"]), "invalid_grant")


def test_another_clients_code_is_refused(http: TestClient, app: App, make_app: MakeApp,
                                         person: Person) -> None:
    thief = make_app()  # same redirect URI, its own credentials
    code, verifier, _ = code_for(http, app, person)
    assert_oauth_error(exchange(http, thief, code, verifier), "invalid_grant")


def test_a_public_client_cannot_redeem_a_confidential_clients_code(
        http: TestClient, app: App, public_app: App, person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    assert_oauth_error(exchange(http, public_app, code, verifier), "invalid_grant")


def test_redirect_uri_must_be_the_requests(http: TestClient, make_app: MakeApp,
                                           person: Person) -> None:
    app = make_app(redirect_uris=[OTHER_REDIRECT.replace("other-", ""), OTHER_REDIRECT])
    code, verifier, _ = code_for(http, app, person)
    response = exchange(http, app, code, verifier, redirect_uri=OTHER_REDIRECT)
    assert_oauth_error(response, "invalid_grant")


def test_redirect_uri_given_in_the_request_must_be_repeated(http: TestClient, app: App,
                                                            person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    assert_oauth_error(app.token(http, **form), "invalid_grant")


def test_redirect_uri_may_be_left_out_when_the_request_left_it_out(
        http: TestClient, app: App, person: Person) -> None:
    # RFC 6749 §4.1.3: required only if it was in the authorization request
    code, verifier, _ = code_for(http, app, person, redirect_uri=None)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    assert app.token(http, **form).status_code == 200


def test_expired_code_is_refused(http: TestClient, db: sessionmaker[Session], app: App,
                                 person: Person) -> None:
    code, verifier, _ = code_for(http, app, person)
    with transaction(db) as session:
        session.execute(update(AuthorizationCode)
                        .where(AuthorizationCode.client_id == app.client_id)
                        .values(expires_at=time.time() - 1))
    assert_oauth_error(exchange(http, app, code, verifier), "invalid_grant")


def test_codes_live_sixty_seconds(http: TestClient, db: sessionmaker[Session], app: App,
                                  person: Person) -> None:
    before = time.time()
    code_for(http, app, person)
    with db() as session:
        row = session.query(AuthorizationCode).filter_by(client_id=app.client_id).one()
    assert before + 60 <= row.expires_at <= time.time() + 60


def test_unknown_code_is_refused(http: TestClient, app: App) -> None:
    assert_oauth_error(exchange(http, app, "made-up-code", "x" * 43), "invalid_grant")
