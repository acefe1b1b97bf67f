"""`casegate …` as a user runs it: processes of their own (fixtures/served.py `cli`), exit
codes, stdout and stderr."""

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from casegate.storage.models import ClientRegistration
from fixtures.bytecode import PYCACHE
from fixtures.factories import CASES_PATH, DEMO_GROUP, SEED_BODY, TOKEN_PATH, bearer
from fixtures.served import Served, cli

BASE = "https://127.0.0.1:8443"  # the default issuer: CASEGATE_PORT is not set here
TOKEN_ENDPOINT = BASE + "/prweb/PRRestService/oauth2/v1/token"
REVOCATION_ENDPOINT = BASE + "/prweb/PRRestService/oauth2/v1/revoke"
LIFETIME_MESSAGE = "the token lifetime must be a positive whole number of seconds"
CLIENT_ID = re.compile(r"[0-9]{20}")
SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
ADMIN = "administrator@casegate"
DEMO_OPERATOR = "cityservices-api@casegate"


@pytest.fixture(scope="session")
def pycache() -> Path:
    return PYCACHE  # the suite's, kept between runs (fixtures/bytecode.py)


def user_env(pycache: Path, **casegate: str) -> dict[str, str]:
    """os.environ without CASEGATE_*, plus these. Bytecode is cached (outside the tree) even
    where PYTHONDONTWRITEBYTECODE is set: each command then starts about three times faster."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CASEGATE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env | {f"CASEGATE_{name.upper()}": value for name, value in casegate.items()}


@pytest.fixture
def env(settings: Settings, pycache: Path) -> dict[str, str]:
    """A user's environment: the same home and database as the `settings` fixture."""
    return user_env(pycache, home=str(settings.home), database_url=settings.db_url)


@pytest.fixture
def fresh_env(tmp_path: Path, database_url: str, pycache: Path) -> dict[str, str]:
    """A user's environment on an empty database, before `casegate init`."""
    return user_env(pycache, home=str(tmp_path / "fresh-home"), database_url=database_url)


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def assert_fails_cleanly(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Non-zero exit, one line on stderr that says why, no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def credentials_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def token_status(http: TestClient, client_id: str, secret: str) -> int:
    """The token endpoint's answer to these credentials: 200 or 401."""
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                         auth=(client_id, secret))
    return response.status_code


def demo_token(http: TestClient, demo: dict[str, Any]) -> str:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200
    token: str = response.json()["access_token"]
    return token


def case_path(http: TestClient, token: str) -> str:
    """A case made with the token, whose path the token can then read."""
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert created.status_code == 201
    path = f"{CASES_PATH}/{quote(created.json()['ID'])}"
    assert http.get(path, headers=bearer(token)).status_code == 200
    return path


def commands(help_text: str) -> set[str]:
    """The first word of each line of a help screen, box drawing stripped."""
    words = (line.strip("│|╭╰─ ").split() for line in help_text.splitlines())
    return {w[0] for w in words if w}


def test_help_lists_the_commands(tmp_path: Path, pycache: Path) -> None:
    env = user_env(pycache, home=str(tmp_path / "home"))
    top = cli(env, "--help")
    assert {"init", "serve", "client", "operator", "token"} <= commands(top.stdout)
    client = cli(env, "client", "--help")
    assert {"create", "list", "show", "regenerate-secret", "revoke-tokens", "credentials",
            "disable", "save-as"} <= commands(client.stdout)


def test_commands_before_init_say_to_run_init(fresh_env: dict[str, str]) -> None:
    result = cli(fresh_env, "client", "create", "--name", "Early", "--operator", "svc@x", check=False)
    assert_fails_cleanly(result, "run `casegate init`")


def test_token_get_with_a_missing_credentials_file_fails_cleanly(tmp_path: Path,
                                                                  pycache: Path) -> None:
    env = user_env(pycache, home=str(tmp_path / "home"))
    missing = tmp_path / "missing.txt"
    result = cli(env, "token", "get", "--credentials-file", str(missing), check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "cannot read" in result.stderr


def test_init_demo_prints_credentials_once_and_is_idempotent(fresh_env: dict[str, str]) -> None:
    env = fresh_env
    first = as_json(cli(env, "init", "--demo", "--json"))
    assert CLIENT_ID.fullmatch(first["client_id"])
    assert SECRET.fullmatch(first["client_secret"])
    assert first["token_endpoint"] == TOKEN_ENDPOINT
    assert first["revocation_endpoint"] == REVOCATION_ENDPOINT
    path = Path(first["credentials_file"])
    assert file_mode(path) == 0o600
    text = path.read_text()
    assert f"Client ID: {first['client_id']}" in text.splitlines()
    assert f"Client Secret: {first['client_secret']}" in text.splitlines()

    again = cli(env, "init", "--demo")
    assert first["client_secret"] not in again.stdout + again.stderr  # shown once
    assert path.read_text() == text
    listed = as_json(cli(env, "client", "list", "--json"))
    assert [c["client_id"] for c in listed] == [first["client_id"]]


def test_client_create_prints_the_secret_once(env: dict[str, str], http: TestClient,
                                              tmp_path: Path) -> None:
    operator = as_json(cli(env, "operator", "create", "reporting@test", "--access-group",
                           DEMO_GROUP, "--json"))
    assert (operator["operator"], operator["kind"], operator["access_group"],
            operator["enabled"]) == ("reporting@test", "service", DEMO_GROUP, True)

    path = tmp_path / "reporting.txt"
    created = as_json(cli(env, "client", "create", "--name", "Reporting", "--operator",
                          "reporting@test", "--grant", "client_credentials", "--lifetime",
                          "120", "--credentials-file", str(path), "--json"))
    client_id, secret = created["client_id"], created["client_secret"]
    assert CLIENT_ID.fullmatch(client_id) and SECRET.fullmatch(secret)
    assert (created["name"], created["operator"], created["grant_types"],
            created["token_lifetime"]) == ("Reporting", "reporting@test",
                                           ["client_credentials"], 120)
    assert file_mode(path) == 0o600
    lines = credentials_lines(path)
    for line in (f"Client ID: {client_id}", f"Client Secret: {secret}",
                 f"Access token endpoint: {TOKEN_ENDPOINT}",
                 f"Token revocation endpoint: {REVOCATION_ENDPOINT}"):
        assert line in lines

    listed = cli(env, "client", "list", "--json")
    shown = cli(env, "client", "show", client_id, "--json")
    for result in (listed, shown):
        assert secret not in result.stdout + result.stderr
        # no secret field ("client_secret" may still name the authentication method)
        assert '"client_secret":' not in result.stdout
    assert client_id in [c["client_id"] for c in as_json(listed)]
    assert as_json(shown)["token_lifetime"] == 120

    token = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                      auth=(client_id, secret))
    assert token.status_code == 200
    assert token.json()["expires_in"] == 120


def test_client_create_refuses_a_person_operator(env: dict[str, str],
                                                 demo: dict[str, Any]) -> None:
    result = cli(env, "client", "create", "--name", "Sneaky", "--operator", ADMIN,
                 "--grant", "client_credentials", check=False)
    assert_fails_cleanly(result, ADMIN, "can log in")


@pytest.mark.parametrize("lifetime", ["0", "-3", "abc"])
def test_client_create_refuses_a_bad_lifetime(env: dict[str, str], demo: dict[str, Any],
                                              lifetime: str) -> None:
    result = cli(env, "client", "create", "--name", "Bad", "--operator", DEMO_OPERATOR,
                 "--lifetime", lifetime, check=False)
    assert_fails_cleanly(result, LIFETIME_MESSAGE)


def test_client_create_with_an_unwritable_credentials_file_creates_nothing(
        env: dict[str, str], db: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "creds.txt"
    result = cli(env, "client", "create", "--name", "Lost", "--operator", DEMO_OPERATOR,
                 "--credentials-file", str(path), check=False)
    assert_fails_cleanly(result, str(path))
    # a client whose secret nobody ever saw would be useless: none was registered
    with db() as session:
        names = session.scalars(select(ClientRegistration.name)).all()
    assert names == ["CityServicesAPI"]


def test_regenerated_secret_replaces_the_old_one(env: dict[str, str], demo: dict[str, Any],
                                                 http: TestClient) -> None:
    client_id, old = demo["client_id"], demo["client_secret"]
    answer = as_json(cli(env, "client", "regenerate-secret", client_id, "--json"))
    assert answer["client_id"] == client_id
    new = answer["client_secret"]
    assert SECRET.fullmatch(new) and new != old
    assert token_status(http, client_id, old) == 401
    assert token_status(http, client_id, new) == 200


def test_credentials_with_yes_writes_a_private_file_with_a_new_secret(
        env: dict[str, str], demo: dict[str, Any], http: TestClient, tmp_path: Path) -> None:
    client_id, old = demo["client_id"], demo["client_secret"]
    path = tmp_path / "creds.txt"
    path.write_text("an older download\n")
    path.chmod(0o644)
    result = cli(env, "client", "credentials", client_id, "--yes", "-o", str(path))
    assert result.stdout == ""  # the secret went to the file only
    assert file_mode(path) == 0o600
    lines = credentials_lines(path)
    secrets = [line.removeprefix("Client Secret: ") for line in lines
               if line.startswith("Client Secret: ")]
    assert len(secrets) == 1 and SECRET.fullmatch(secrets[0]) and secrets[0] != old
    assert f"Client ID: {client_id}" in lines
    assert f"Access token endpoint: {TOKEN_ENDPOINT}" in lines
    assert f"Token revocation endpoint: {REVOCATION_ENDPOINT}" in lines
    assert token_status(http, client_id, old) == 401
    assert token_status(http, client_id, secrets[0]) == 200


def test_credentials_prints_the_file_with_a_new_secret_and_says_the_old_one_is_gone(
        env: dict[str, str], demo: dict[str, Any], http: TestClient) -> None:
    # Pega's "regenerate and download" in one step: scripts run it without a prompt
    result = cli(env, "client", "credentials", demo["client_id"], input="")
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["Client ID"] == demo["client_id"]
    assert SECRET.fullmatch(lines["Client Secret"])
    assert lines["Client Secret"] != demo["client_secret"]
    assert "previous one no longer works" in result.stderr
    assert token_status(http, demo["client_id"], demo["client_secret"]) == 401
    assert token_status(http, demo["client_id"], lines["Client Secret"]) == 200


def test_credentials_to_an_unwritable_path_keeps_the_old_secret(
        env: dict[str, str], demo: dict[str, Any], http: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "creds.txt"
    result = cli(env, "client", "credentials", demo["client_id"], "--yes", "-o", str(path),
                 check=False)
    assert_fails_cleanly(result, str(path))
    # the new secret could not be handed over, so the old one must still work
    assert token_status(http, demo["client_id"], demo["client_secret"]) == 200


def test_revoke_tokens_makes_issued_tokens_fail(env: dict[str, str], demo: dict[str, Any],
                                                http: TestClient) -> None:
    token = demo_token(http, demo)
    path = case_path(http, token)
    answer = as_json(cli(env, "client", "revoke-tokens", demo["client_id"], "--json"))
    assert answer == {"client_id": demo["client_id"], "tokens_revoked": True}
    after = http.get(path, headers=bearer(token))
    assert after.status_code == 401
    # the secret itself still works
    assert token_status(http, demo["client_id"], demo["client_secret"]) == 200


def test_disable_refuses_the_client_a_token(env: dict[str, str], demo: dict[str, Any],
                                            http: TestClient) -> None:
    answer = as_json(cli(env, "client", "disable", demo["client_id"], "--json"))
    assert answer["client_id"] == demo["client_id"]
    assert answer["enabled"] is False
    assert token_status(http, demo["client_id"], demo["client_secret"]) == 401


def test_save_as_copies_the_client_with_its_own_id_and_secret(
        env: dict[str, str], demo: dict[str, Any], http: TestClient) -> None:
    copy = as_json(cli(env, "client", "save-as", demo["client_id"], "--name", "CityCopy",
                       "--json"))
    assert CLIENT_ID.fullmatch(copy["client_id"]) and copy["client_id"] != demo["client_id"]
    assert SECRET.fullmatch(copy["client_secret"])
    assert copy["client_secret"] != demo["client_secret"]
    assert (copy["name"], copy["operator"], copy["grant_types"], copy["token_lifetime"]) == (
        "CityCopy", DEMO_OPERATOR, ["client_credentials"], 3600)
    assert token_status(http, copy["client_id"], copy["client_secret"]) == 200
    assert token_status(http, demo["client_id"], demo["client_secret"]) == 200


def test_show_unknown_client_fails_cleanly(env: dict[str, str], demo: dict[str, Any]) -> None:
    assert_fails_cleanly(cli(env, "client", "show", "00000000000000000000", check=False),
                         "00000000000000000000", "not found")


def test_operator_disable_makes_its_tokens_fail(env: dict[str, str], demo: dict[str, Any],
                                                http: TestClient) -> None:
    token = demo_token(http, demo)
    path = case_path(http, token)
    answer = as_json(cli(env, "operator", "disable", DEMO_OPERATOR, "--json"))
    assert (answer["operator"], answer["enabled"]) == (DEMO_OPERATOR, False)
    after = http.get(path, headers=bearer(token))
    assert after.status_code == 401


@pytest.fixture
def served(tmp_path: Path, database_url: str, pycache: Path) -> Iterator[Served]:
    server = Served(tmp_path / "served", database_url)
    server.env = user_env(pycache, **{k.removeprefix("CASEGATE_").lower(): v
                                      for k, v in server.env.items()
                                      if k.startswith("CASEGATE_")})
    server.start()
    yield server
    server.stop()


def test_token_commands_against_a_served_casegate(served: Served) -> None:
    creds = served.demo["credentials_file"]
    tls = ("--cacert", served.cacert)
    env = served.env
    client_id = served.demo["client_id"]

    token = cli(env, "token", "get", "--credentials-file", creds, *tls).stdout.strip()
    assert JWT.fullmatch(token), token
    # `casegate token …` alone gets a token too, as the contract writes it
    plain = cli(env, "token", "--credentials-file", creds, *tls).stdout.strip()
    assert JWT.fullmatch(plain) and plain != token

    whole = as_json(cli(env, "token", "get", "--credentials-file", creds, *tls, "--json"))
    assert JWT.fullmatch(whole["access_token"])
    assert (whole["token_type"], whole["expires_in"]) == ("Bearer", 3600)

    wrong = cli(env, "token", "get", "--client-id", client_id, "--client-secret", "wrong",
                "--url", served.url, *tls, check=False)
    assert wrong.returncode != 0
    assert "invalid_client" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    cli(env, "token", "revoke", whole["access_token"], "--credentials-file", creds, *tls)
    shown = cli(env, "token", "introspect", whole["access_token"], "--credentials-file", creds,
                *tls)
    assert '"active": false' in shown.stdout
    assert as_json(shown) == {"active": False}

    with served.client() as web:
        case = web.post(CASES_PATH, headers=bearer(token), json=SEED_BODY)
        assert case.status_code == 201
        case_path = f"{CASES_PATH}/{quote(case.json()['ID'])}"
        assert web.get(case_path, headers=bearer(token)).status_code == 200
        cli(env, "client", "regenerate-secret", client_id, "--json")
        after = web.get(case_path, headers=bearer(token))
        assert after.status_code == 401
        assert 'error="invalid_token"' in after.headers["www-authenticate"]


def test_client_create_takes_redirect_uris_and_refuses_plain_http_off_loopback(
        env: dict[str, str], demo: dict[str, Any]) -> None:
    made = as_json(cli(env, "client", "create", "--name", "WithRedirects", "--operator",
                       DEMO_OPERATOR, "--redirect-uri", "https://app.example.com/cb",
                       "--redirect-uri", "http://127.0.0.1:8765/cb", "--json"))
    assert made["redirect_uris"] == ["https://app.example.com/cb", "http://127.0.0.1:8765/cb"]
    refused = cli(env, "client", "create", "--name", "Plain", "--operator", DEMO_OPERATOR,
                  "--redirect-uri", "http://app.example.com/cb", check=False)
    assert_fails_cleanly(refused, "https")
