"""Token times: `exp`, `nbf` and `iat` checked with one leeway, settings.clock_skew, at every
place a token is read (case API and its fast path, userinfo, introspection, revocation);
the default lifetime of new clients is settings.token_lifetime."""

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casegate.app import create_app
from casegate.settings import Settings
from conftest import BASE_URL
from fixtures.factories import CASES_PATH, INTROSPECT_PATH, SEED_BODY, get_token
from fixtures.served import cli, with_bytecode_cache

USERINFO = "/prweb/PRRestService/oauth2/v1/userinfo"
Forge = Callable[..., str]
Reads = Callable[[str], list[int]]


def reads(http: TestClient, demo: dict[str, Any]) -> Reads:
    """The statuses of every place that reads the token: create a case (the fast path), list
    cases, userinfo (403 is "valid but no openid"), introspection (200/active or not)."""
    auth = (demo["client_id"], demo["client_secret"])

    def all_of(token: str) -> list[int]:
        headers = {"Authorization": f"Bearer {token}"}
        active = http.post(INTROSPECT_PATH, data={"token": token}, auth=auth).json()["active"]
        return [http.post(CASES_PATH, json=SEED_BODY, headers=headers).status_code,
                http.get(CASES_PATH, headers=headers).status_code,
                http.get(USERINFO, headers=headers).status_code, 200 if active else 401]

    return all_of


ACCEPTED = [201, 200, 403, 200]
REFUSED = [401, 401, 401, 401]


@pytest.fixture
def read(http: TestClient, demo: dict[str, Any]) -> Reads:
    return reads(http, demo)


def test_exp_is_allowed_the_clock_skew_and_no_more(read: Reads, forge: Forge,
                                                   settings: Settings) -> None:
    assert settings.clock_skew == 60  # the default
    now = int(time.time())
    assert read(forge(iat=now - 600, exp=now - 30)) == ACCEPTED  # within the skew
    assert read(forge(iat=now - 600, exp=now - 61)) == REFUSED


def test_nbf_is_checked_with_the_same_leeway(read: Reads, forge: Forge) -> None:
    now = int(time.time())
    assert read(forge(nbf=now)) == ACCEPTED
    assert read(forge(nbf=now + 30)) == ACCEPTED  # a server whose clock runs ahead
    assert read(forge(nbf=now + 3600)) == REFUSED  # RFC 7519 §4.1.5
    for bad in ("soon", True, [now]):
        assert read(forge(nbf=bad)) == REFUSED, bad


def test_iat_in_the_future_beyond_the_skew_is_refused(read: Reads, forge: Forge) -> None:
    now = int(time.time())
    assert read(forge(iat=now + 30, exp=now + 600)) == ACCEPTED
    assert read(forge(iat=now + 120, exp=now + 600)) == REFUSED


@pytest.fixture
def strict(settings: Settings, demo: dict[str, Any]) -> Iterator[Reads]:
    """The same database served with CASEGATE_CLOCK_SKEW=0."""
    app = create_app(settings.model_copy(update={"clock_skew": 0}))
    with TestClient(app, base_url=BASE_URL) as http:
        yield reads(http, demo)


def test_the_leeway_is_the_setting(strict: Reads, forge: Forge) -> None:
    now = int(time.time())
    assert strict(forge()) == ACCEPTED
    assert strict(forge(iat=now - 600, exp=now - 30)) == REFUSED
    assert strict(forge(nbf=now + 30)) == REFUSED


def test_clock_skew_is_bounded() -> None:
    with pytest.raises(ValueError):
        Settings(clock_skew=3601)


def test_new_clients_get_the_configured_lifetime(settings: Settings, demo: dict[str, Any],
                                                 http: TestClient) -> None:
    env = with_bytecode_cache({k: v for k, v in os.environ.items()
                               if not k.startswith("CASEGATE_")})
    env |= {"CASEGATE_HOME": str(settings.home), "CASEGATE_DATABASE_URL": settings.db_url,
            "CASEGATE_TOKEN_LIFETIME": "900"}
    operator = "short-lived@test"
    cli(env, "operator", "create", operator, "--access-group", "CityServices:APIClients")
    client = json.loads(cli(env, "client", "create", "--name", "Short", "--operator", operator,
                            "--json").stdout)
    assert client["token_lifetime"] == 900
    token = get_token(http, client["client_id"], client["client_secret"])
    assert token["expires_in"] == 900
