"""Signing keys encrypted at rest, rotated by command or by age (once, whichever process
notices first), unpublished once their tokens have expired; picked up without a restart."""

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from casegate import bootstrap
from casegate.crypto import Sealer
from casegate.oauth import keys
from casegate.oauth.keys import KeyRing
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory, transaction
from casegate.storage.models import ClientRegistration, SigningKey
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.factories import CASES_PATH, SEED_BODY, bearer, get_token
from fixtures.served import Served, cli
from fixtures.sql_dump import dump

KEYS_PATH = "/prweb/PRRestService/oauth2/v1/token/keys"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_a_database_dump_holds_no_private_key_material(
        tmp_path: Path, database_url: str, alg: str) -> None:
    settings = Settings(home=tmp_path / "home", database_url=database_url, signing_alg=alg)
    bootstrap.init(settings, demo=True)
    engine = make_engine(settings.db_url)
    try:
        factory = session_factory(engine)
        with transaction(factory) as session:  # a retired key too
            keys.rotate(session, settings, Sealer(settings.hmac_key()))
        ring = KeyRing(factory, settings)
        ring.load()
        private = [ring.verification_key(row.kid) for row in _rows(factory)]
        text = dump(engine)
    finally:
        engine.dispose()
    assert len(private) == 2
    for key in private:
        assert key is not None
        members = key.as_dict(private=True)
        secrets = [members[name] for name in PRIVATE_MEMBERS if name in members]
        assert secrets  # the key in memory is whole: it signs
        for value in secrets:
            assert value not in text
    assert '"d":' not in text.replace(" ", "")


def _rows(factory: sessionmaker[Session]) -> list[SigningKey]:
    with factory() as session:
        return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))


def test_keys_rotate_and_list_on_the_command_line_reach_a_running_server(
        settings: Settings, demo: dict[str, str], http: TestClient) -> None:
    env = user_shell(settings)
    before = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    old_kid = _header(before)["kid"]

    made = as_json(cli(env, "keys", "rotate", "--alg", "RS256", "--json"))
    assert made["alg"] == "RS256" and made["kid"] != old_kid
    assert [r["kid"] for r in made["retired"]] == [old_kid]
    listed = as_json(cli(env, "keys", "list", "--json"))
    assert [(k["kid"], k["status"]) for k in listed] == [(old_kid, "retired"),
                                                         (made["kid"], "current")]
    assert all("d" not in k and "private" not in str(k) for k in listed)

    # no restart: the server reloads its keys (every 30 s; here at once)
    http.app.state.runtime.keys.max_age = 0
    after = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert _header(after) == {"alg": "RS256", "typ": "at+jwt", "kid": made["kid"]}
    published = KeySet.import_key_set(http.get(KEYS_PATH).json())
    assert sorted(k.kid for k in published) == sorted([old_kid, made["kid"]])
    for token in (before, after):  # the old key's tokens still verify
        jwt.decode(token, published, algorithms=["ES256", "RS256"])
        assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201


def test_keys_rotate_refuses_an_unknown_algorithm(settings: Settings) -> None:
    result = cli(user_shell(settings), "keys", "rotate", "--alg", "HS256", check=False)
    assert_fails_cleanly(result, "signing_alg")


def test_an_old_key_is_replaced_once_by_whichever_process_notices_first(
        settings: Settings, demo: dict[str, str]) -> None:
    engines = [make_engine(settings.db_url) for _ in range(4)]  # four "processes"
    try:
        with transaction(session_factory(engines[0])) as session:
            old = session.scalars(select(SigningKey)).one()
            session.execute(update(SigningKey).values(created_at=time.time() - 91 * 86400))
        rings = [KeyRing(session_factory(engine), settings) for engine in engines]
        start = threading.Barrier(len(rings))
        failures: list[BaseException] = []

        def notice(ring: KeyRing) -> None:
            start.wait()
            try:
                ring.load()
            except BaseException as exc:  # noqa: BLE001 (reported below)
                failures.append(exc)

        threads = [threading.Thread(target=notice, args=(ring,)) for ring in rings]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        rows = _rows(session_factory(engines[0]))
        assert [row.kid for row in rows][0] == old.kid
        assert len(rows) == 2
        assert rows[0].retired_at is not None and rows[1].retired_at is None
        assert {ring.current().kid for ring in rings} == {rows[1].kid}
    finally:
        for engine in engines:
            engine.dispose()


def test_a_young_key_and_a_rotation_period_of_zero_are_left_alone(
        settings: Settings, demo: dict[str, str], db: sessionmaker[Session]) -> None:
    KeyRing(db, settings).load()
    assert len(_rows(db)) == 1
    with transaction(db) as session:
        session.execute(update(SigningKey).values(created_at=time.time() - 1000 * 86400))
    KeyRing(db, settings.model_copy(update={"key_rotation_days": 0})).load()
    assert len(_rows(db)) == 1


def test_a_retired_key_is_published_until_the_longest_token_it_signed_expires(
        settings: Settings, demo: dict[str, str], db: sessionmaker[Session],
        http: TestClient) -> None:
    sealer = Sealer(settings.hmac_key())
    with transaction(db) as session:  # one client's tokens live two hours
        session.execute(update(ClientRegistration).where(
            ClientRegistration.client_id == demo["client_id"]).values(token_lifetime=7200))
        first = session.scalars(select(SigningKey)).one().kid
        # retired 1 h 10 min ago: a one-hour token is long dead, a two-hour one is not
        keys.rotate(session, settings, sealer, now=time.time() - 4200)
    ring = http.app.state.runtime.keys
    ring.max_age = 0
    assert first in [k["kid"] for k in http.get(KEYS_PATH).json()["keys"]]

    with transaction(db) as session:  # a later rotation, 2 h on: the first key is gone
        keys.rotate(session, settings, sealer, now=time.time() + 7200)
    kids = [row.kid for row in _rows(db)]
    assert first not in kids
    assert first not in [k["kid"] for k in http.get(KEYS_PATH).json()["keys"]]


def test_a_key_retired_longer_ago_than_its_tokens_live_is_unpublished(
        settings: Settings, demo: dict[str, str], db: sessionmaker[Session],
        http: TestClient) -> None:
    old = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    with transaction(db) as session:
        # every token lives an hour (+ 60 s of clock skew): retired 1 h 5 min ago is past it
        keys.rotate(session, settings, Sealer(settings.hmac_key()), now=time.time() - 3900)
    http.app.state.runtime.keys.max_age = 0
    published = [k["kid"] for k in http.get(KEYS_PATH).json()["keys"]]
    assert _header(old)["kid"] not in published and len(published) == 1
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(old)).status_code == 401


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_refuses_a_wrong_or_missing_secret_key(settings: Settings) -> None:
    env = user_shell(settings)
    wrong = cli(env | {"CASEGATE_SECRET_KEY": "not-the-key-init-made"}, "serve", "--http",
                check=False)
    assert_fails_cleanly(wrong, "signing keys", "secret key")
    (settings.home / "secret.key").unlink()
    missing = cli(env, "serve", "--http", check=False)
    assert_fails_cleanly(missing, "no secret key", "secret.key")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_worker_signs_with_a_rotated_key_within_30_seconds_without_a_restart(
        tmp_path: Path, database_url: str) -> None:
    served = Served(tmp_path / "home", database_url, workers=2)
    served.start()
    try:
        demo = served.demo

        def kids(count: int) -> list[str]:
            """Kids of `count` tokens, each on a new connection (the kernel spreads them
            over both workers)."""
            found = []
            for _ in range(count):
                with served.client() as http:
                    token = get_token(http, demo["client_id"], demo["client_secret"])
                found.append(_header(token["access_token"])["kid"])
            return found

        old = set(kids(4))
        assert len(old) == 1
        new = as_json(cli(served.env, "keys", "rotate", "--json"))["kid"]
        deadline = time.monotonic() + 45
        while set(kids(16)) != {new}:
            assert time.monotonic() < deadline, "a worker still signs with the old key"
            time.sleep(2)
        with served.client() as http:  # and the old key's tokens still verify everywhere
            published = [k["kid"] for k in http.get(KEYS_PATH).json()["keys"]]
        assert published == [*old, new]
        assert served.process is not None and served.process.poll() is None
    finally:
        served.stop()
