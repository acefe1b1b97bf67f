"""`casegate client create` for people's grants, `casegate consent …` and `casegate operator
set-password` as a user runs them (real subprocesses), and what they change over HTTP."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casegate.settings import Settings
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.served import cli
from people.flow import (
    PASSWORD,
    REDIRECT,
    App,
    Person,
    assert_oauth_error,
    create_case,
    full_flow,
    refresh,
)

# what does not depend on the engine runs on SQLite only: each command is a ~1 s subprocess
ON_SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
CODE_CLIENT = ("client", "create", "--grant", "authorization_code", "--grant", "refresh_token")


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """A user's shell on the `settings` fixture's home and (initialised, demo) database."""
    return user_shell(settings)


@ON_SQLITE_ONLY
def test_public_client_has_no_secret(env: dict[str, str]) -> None:
    data = as_json(cli(env, *CODE_CLIENT, "--name", "Phone app", "--public",
                       "--redirect-uri", "http://127.0.0.1:8080/cb", "--json"))
    assert "client_secret" not in data
    assert data["public"] is True
    assert data["redirect_uris"] == ["http://127.0.0.1:8080/cb"]
    human = cli(env, *CODE_CLIENT, "--name", "Phone app 2", "--public",
                "--redirect-uri", REDIRECT)
    assert "secret" not in (human.stdout + human.stderr).lower().replace("public (no secret)", "")


@ON_SQLITE_ONLY
def test_confidential_code_client_shows_its_secret_once(env: dict[str, str]) -> None:
    data = as_json(cli(env, *CODE_CLIENT, "--name", "Web app", "--redirect-uri", REDIRECT,
                       "--post-logout-redirect-uri", REDIRECT + "/bye", "--json"))
    assert len(data["client_secret"]) >= 43
    assert data["public"] is False
    assert data["post_logout_redirect_uris"] == [REDIRECT + "/bye"]


@ON_SQLITE_ONLY
def test_password_grant_warns_on_stderr(env: dict[str, str]) -> None:
    result = cli(env, "client", "create", "--name", "Legacy", "--grant", "password", "--json")
    assert "warning" in result.stderr.lower()
    assert "RFC 9700" in result.stderr
    assert "warning" not in result.stdout.lower()
    assert as_json(result)["client_secret"]
    quiet = cli(env, *CODE_CLIENT, "--name", "Modern", "--redirect-uri", REDIRECT, "--json")
    assert quiet.stderr == ""


@ON_SQLITE_ONLY
@pytest.mark.parametrize("args, phrase", [
    (("--grant", "authorization_code"), "redirect URI"),
    (("--grant", "authorization_code", "--redirect-uri", "http://app.example.com/cb"), "https"),
    (("--grant", "authorization_code", "--redirect-uri", REDIRECT + "#x"), "fragment"),
    (("--grant", "password", "--public"), "public client"),
    (("--grant", "refresh_token", "--operator", "cityservices-api@casegate"), "refresh"),
])
def test_bad_registrations_fail_with_one_line(env: dict[str, str], args: tuple[str, ...],
                                              phrase: str) -> None:
    result = cli(env, "client", "create", "--name", "Bad", *args, check=False)
    assert_fails_cleanly(result, phrase)
    # and nothing was created
    assert all(c["name"] != "Bad" for c in as_json(cli(env, "client", "list", "--json")))


def test_consent_list_and_revoke(env: dict[str, str], http: TestClient, make_app: Any,
                                 person: Person) -> None:
    app: App = make_app()
    token = full_flow(http, app, person, scope="cases").token

    listed = as_json(cli(env, "consent", "list", "--json"))
    assert [{k: v for k, v in c.items() if k != "granted_at"} for c in listed] == [
        {"operator": person.operator_id, "client_id": app.client_id, "scopes": ["cases"]}]
    assert as_json(cli(env, "consent", "list", "--operator", "someone@else", "--json")) == []

    revoked = as_json(cli(env, "consent", "revoke", person.operator_id, app.client_id, "--json"))
    assert revoked == {"operator": person.operator_id, "client_id": app.client_id,
                       "grants_revoked": 1}
    assert as_json(cli(env, "consent", "list", "--json")) == []
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
    assert create_case(http, token["access_token"]).status_code == 401

    again = cli(env, "consent", "revoke", person.operator_id, app.client_id, check=False)
    assert_fails_cleanly(again, person.operator_id)


def test_set_password_revokes_and_the_new_one_works(env: dict[str, str], http: TestClient,
                                                    make_app: Any, person: Person) -> None:
    app: App = make_app()
    token = full_flow(http, app, person).token
    new = "another password for the person"
    data = as_json(cli(env, "operator", "set-password", person.operator_id, "--password", new,
                       "--json"))
    assert data["operator"] == person.operator_id
    assert "password" not in json.dumps(data).lower()
    assert_oauth_error(refresh(http, app, token["refresh_token"]), "invalid_grant")
    assert create_case(http, token["access_token"]).status_code == 401
    # the sign-in session ended too: the old password is asked for, and refused
    http.cookies.clear()
    with pytest.raises(AssertionError):
        full_flow(http, app, Person(person.operator_id, PASSWORD))
    http.cookies.clear()
    fresh = full_flow(http, app, Person(person.operator_id, new)).token
    assert create_case(http, fresh["access_token"]).status_code == 201


@ON_SQLITE_ONLY
def test_set_password_of_a_service_operator_fails(env: dict[str, str]) -> None:
    result = cli(env, "operator", "set-password", "cityservices-api@casegate", "--password",
                 "whatever", check=False)
    assert_fails_cleanly(result, "service operator")
