"""`casegate db upgrade` on a database the previous release made (schema 0002 and the rows of
its `init --demo`, tests/upgrade/release-0.1.0.sql): data intact, signing keys encrypted,
run once however many processes start together; `serve` upgrades at start too."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from casegate.app import create_app
from casegate.settings import Settings
from casegate.storage.db import make_engine
from casegate.storage.migrate import alembic_config, current_revision
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH, bearer, get_token
from fixtures.served import cli, free_port, with_bytecode_cache
from fixtures.sql_dump import dump, load

HERE = Path(__file__).parent
RELEASE = json.loads((HERE / "release-0.1.0.json").read_text())
PREVIOUS = "0002"


def old_keys(settings: Settings) -> list[dict[str, Any]]:
    """The private JWKs as the previous release stored them (read before the upgrade)."""
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT private_jwk FROM signing_keys ORDER BY created_at"))
            return [v if isinstance(v, dict) else json.loads(v) for (v,) in rows]
    finally:
        engine.dispose()


@pytest.fixture
def release(database_url: str, tmp_path: Path) -> Settings:
    """A database and home as casegate 0.1.0 left them."""
    from alembic import command

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(HERE / "release-0.1.0.secret.key", home / "secret.key")
    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), PREVIOUS)
        load(engine, (HERE / "release-0.1.0.sql").read_text())
    finally:
        engine.dispose()
    # the release's key is a few days old: no scheduled rotation muddles what is checked
    return Settings(home=home, database_url=database_url, key_rotation_days=0)


def revision(settings: Settings) -> str | None:
    engine = make_engine(settings.db_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_an_upgraded_database_keeps_its_data_and_encrypts_its_keys(release: Settings) -> None:
    before = old_keys(release)
    env = user_shell(release) | {"CASEGATE_KEY_ROTATION_DAYS": "0"}
    applied = as_json(cli(env, "db", "upgrade", "--json"))["applied"]
    assert "0004" in applied
    assert as_json(cli(env, "db", "upgrade", "--json")) == {"applied": []}

    with TestClient(create_app(release), base_url="https://127.0.0.1:8443") as http:
        token = get_token(http, RELEASE["client_id"], RELEASE["client_secret"])["access_token"]
        published = http.get("/prweb/PRRestService/oauth2/v1/token/keys").json()["keys"]
        current = before[-1]  # the release rotated to RS256 last: still the signing key
        assert [k["n"] for k in published if k["kid"] == current["kid"]] == [current["n"]]
        header = json.loads(_b64json(token.split(".")[0]))
        assert header["kid"] == current["kid"] and header["alg"] == "RS256"
        case = http.get(f"{CASES_PATH}/{RELEASE['case_id']}", headers=bearer(token))
        assert case.status_code == 200
        assert case.json()["content"]["RequestDetail"] == SEED_BODY["content"]["RequestDetail"]
        made = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
        assert made.status_code == 201 and made.json()["ID"].endswith("REQ-1002")

    engine = make_engine(release.db_url)
    try:
        dumped = dump(engine)
    finally:
        engine.dispose()
    for jwk in before:
        for member in ("d", "p", "q", "dp", "dq", "qi"):
            if member in jwk:
                assert jwk[member] not in dumped


def _b64json(part: str) -> str:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def test_processes_upgrading_together_migrate_once(release: Settings) -> None:
    env = with_bytecode_cache(user_shell(release))
    runs = [subprocess.Popen([sys.executable, "-m", "casegate", "db", "upgrade", "--json"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)]
    answers = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        answers.append(json.loads(out)["applied"])
    assert sorted(len(a) > 0 for a in answers) == [False, False, True]
    # encrypted once: the keys open with the secret key, and tokens are signed
    with TestClient(create_app(release), base_url="https://127.0.0.1:8443") as http:
        assert get_token(http, RELEASE["client_id"], RELEASE["client_secret"])["access_token"]


def test_an_upgrade_without_the_secret_key_fails_cleanly_and_changes_nothing(
        release: Settings) -> None:
    (release.home / "secret.key").unlink()
    result = cli(user_shell(release), "db", "upgrade", check=False)
    assert_fails_cleanly(result, "no secret key")
    assert revision(release) == PREVIOUS


def test_other_commands_on_an_older_schema_say_to_upgrade(release: Settings) -> None:
    result = cli(user_shell(release), "client", "list", check=False)
    assert_fails_cleanly(result, "casegate db upgrade")


def test_serve_upgrades_an_older_database_at_start(release: Settings) -> None:
    port = free_port()
    env = with_bytecode_cache(user_shell(release)) | {"CASEGATE_PORT": str(port),
                                                       "CASEGATE_KEY_ROTATION_DAYS": "0"}
    log = (release.home / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "casegate", "serve", "--http"], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (release.home / "serve.log").read_text()
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (release.home / "serve.log").read_text()
            time.sleep(0.05)
        answer = httpx.post(base + TOKEN_PATH, data={"grant_type": "client_credentials"},
                            auth=(RELEASE["client_id"], RELEASE["client_secret"]))
        assert answer.status_code == 200
        assert "database upgraded" in (release.home / "serve.log").read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
    assert revision(release) != PREVIOUS
