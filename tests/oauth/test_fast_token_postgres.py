"""On PostgreSQL the token endpoint's fast front reads the client on one autocommit connection
per process (storage/pg_reader.py), opened by the first pooled read: successes come from it,
refusals still go to the full endpoint, a change is seen at the next request, and a dropped
connection costs one request (503) before the reader and the pool recover."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from casegate.oauth.server import AuthorizationServer
from casegate.storage.db import make_engine, session_factory, transaction
from casegate.storage.models import ClientRegistration
from casegate.storage.pg_reader import PostgresReader
from fixtures.factories import get_token
from fixtures.postgres import PostgresServer
from fixtures.served import Served

TOKEN = "/prweb/PRRestService/oauth2/v1/token"
pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the full endpoint and the reader's reads ran (both still do their work)."""
    seen = {"full": 0, "reads": 0}
    token, rows = AuthorizationServer.token, PostgresReader.rows

    def full(self: AuthorizationServer, request: Any) -> Any:
        seen["full"] += 1
        return token(self, request)

    def read(self: PostgresReader, *args: Any) -> Any:
        found = rows(self, *args)
        seen["reads"] += 1
        return found

    monkeypatch.setattr(AuthorizationServer, "token", full)
    monkeypatch.setattr(PostgresReader, "rows", read)
    return seen


def terminate_others(settings: Any) -> int:
    """pg_terminate_backend for every other connection to casegate's database (what a
    restart does to them); how many there were."""
    url = make_url(settings.db_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
    assert found is not None
    return int(found[0])


def set_enabled(db_url: str, client_id: str, enabled: bool) -> None:
    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as session:
            row = session.get(ClientRegistration, client_id)
            assert row is not None
            row.enabled = enabled
    finally:
        engine.dispose()


def test_tokens_come_from_the_reader_once_it_is_open(
        backend: str, http: TestClient, demo: dict[str, Any], calls: dict[str, int]) -> None:
    first = get_token(http, demo["client_id"], demo["client_secret"])  # pooled; opens it
    assert calls == {"full": 0, "reads": 0}
    second = get_token(http, demo["client_id"], demo["client_secret"], scope="cases")
    assert calls == {"full": 0, "reads": 1}  # the client: an allowed scope needs no more
    assert second["scope"] == "cases" and second["token_type"] == first["token_type"]
    third = get_token(http, demo["client_id"], demo["client_secret"],
                      scope="cases casegate:admin")
    assert calls == {"full": 0, "reads": 3}  # the client, then the known scopes
    assert third["scope"] == "cases"  # known, not allowed: dropped
    response = http.post(TOKEN, data={"grant_type": "client_credentials"},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert calls == {"full": 0, "reads": 4}


@pytest.mark.parametrize("case", ["wrong secret", "unknown client", "unknown scope"])
def test_refusals_read_by_the_reader_go_to_the_full_endpoint(
        backend: str, http: TestClient, demo: dict[str, Any], calls: dict[str, int],
        case: str) -> None:
    get_token(http, demo["client_id"], demo["client_secret"])  # opens the reader
    auth, form = (demo["client_id"], demo["client_secret"]), {"grant_type": "client_credentials"}
    if case == "wrong secret":
        auth = (demo["client_id"], "not-the-secret")
    elif case == "unknown client":
        auth = ("00000000000000000000", demo["client_secret"])
    else:
        form["scope"] = "nothing-like-it"
    response = http.post(TOKEN, data=form, auth=auth)
    assert response.status_code == (400 if case == "unknown scope" else 401)
    assert response.json()["error"] == ("invalid_scope" if case == "unknown scope"
                                        else "invalid_client")
    assert calls["reads"] >= 1 and calls["full"] == 1


def test_a_disabled_client_is_refused_at_the_next_request(
        backend: str, http: TestClient, demo: dict[str, Any], settings: Any,
        calls: dict[str, int]) -> None:
    get_token(http, demo["client_id"], demo["client_secret"])
    get_token(http, demo["client_id"], demo["client_secret"])
    assert calls["reads"] == 1
    set_enabled(settings.db_url, demo["client_id"], False)
    response = http.post(TOKEN, data={"grant_type": "client_credentials"},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    set_enabled(settings.db_url, demo["client_id"], True)
    get_token(http, demo["client_id"], demo["client_secret"])


def test_a_dropped_connection_costs_one_request_then_both_recover(
        backend: str, http: TestClient, demo: dict[str, Any], settings: Any,
        calls: dict[str, int]) -> None:
    get_token(http, demo["client_id"], demo["client_secret"])
    get_token(http, demo["client_id"], demo["client_secret"])
    assert calls["reads"] == 1
    assert terminate_others(settings) >= 2  # the reader's and the pool's at least
    statuses = []
    for _ in range(4):
        response = http.post(TOKEN, data={"grant_type": "client_credentials"},
                             auth=(demo["client_id"], demo["client_secret"]))
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.json()["error"] == "temporarily_unavailable"
            assert response.headers["retry-after"].isdigit()
    assert 500 not in statuses
    assert statuses.count(503) <= 1 and statuses[-2:] == [200, 200], statuses
    reads = calls["reads"]
    get_token(http, demo["client_id"], demo["client_secret"])
    assert calls["reads"] == reads + 1  # the reader is open again


@pytest.fixture
def cluster() -> Iterator[PostgresServer]:
    server = PostgresServer()  # its own: the test stops and starts it
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_database_restart_is_one_503_then_tokens_again(
        backend: str, cluster: PostgresServer, tmp_path: Path) -> None:
    url = cluster.create_database(f"restart_{uuid.uuid4().hex[:8]}")
    served = Served(tmp_path / "home", url).start()
    try:
        auth = (served.demo["client_id"], served.demo["client_secret"])
        form = {"grant_type": "client_credentials"}
        with served.client() as client:
            for _ in range(3):  # the reader opens and answers
                assert client.post(TOKEN, data=form, auth=auth).status_code == 200
            cluster.interrupt()
            cluster.resume()
            statuses = [client.post(TOKEN, data=form, auth=auth).status_code
                        for _ in range(4)]
            assert statuses.count(503) <= 1 and statuses[-2:] == [200, 200], statuses
            # the reader is back: a disabled client is refused at the next request
            set_enabled(url, served.demo["client_id"], False)
            refused = client.post(TOKEN, data=form, auth=auth)
            assert refused.status_code == 401, refused.text
    finally:
        served.stop()
