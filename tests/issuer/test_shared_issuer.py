"""Two `casegate serve` on one PostgreSQL, on different ports and without --issuer, accept
each other's tokens: the issuer chosen at `init` is stored in the database. A process given
another issuer refuses to start, saying which one the database has."""

import shutil
import uuid
from pathlib import Path

from fixtures.factories import CASES_PATH, INTROSPECT_PATH, SEED_BODY, TOKEN_PATH
from fixtures.postgres import PostgresServer
from fixtures.served import Served, cli, free_port


def test_two_processes_on_one_database_share_the_issuer(postgres: PostgresServer,
                                                        tmp_path: Path) -> None:
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:16]}")
    first = Served(tmp_path / "first", url).start()
    second = Served(tmp_path / "second", url)
    second.home.mkdir()
    shutil.copy(first.home / "secret.key", second.home / "secret.key")  # as the README asks
    second.demo = first.demo
    second.serve()
    try:
        assert first.port != second.port
        auth = (first.demo["client_id"], first.demo["client_secret"])
        tokens = {}
        for served in (first, second):
            with served.client() as client:
                answer = client.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                     auth=auth)
                assert answer.status_code == 200, answer.text
                tokens[served.port] = answer.json()["access_token"]
        for served, other in ((first, second), (second, first)):
            with served.client() as client:
                headers = {"Authorization": f"Bearer {tokens[other.port]}"}
                created = client.post(CASES_PATH, json=SEED_BODY, headers=headers)
                assert created.status_code == 201, created.text
                assert client.get(CASES_PATH, headers=headers).status_code == 200
                active = client.post(INTROSPECT_PATH, data={"token": tokens[other.port]},
                                     auth=auth).json()
                assert active["active"] is True
                assert active["iss"] == first.url  # the issuer chosen at init
                metadata = client.get("/.well-known/oauth-authorization-server").json()
                assert metadata["issuer"] == first.url

        # the second says where it listens, and that its tokens name the shared issuer
        said = second.log.read_text()
        assert f"casegate serving {second.url} with" in said
        assert f"tokens name the issuer {first.url}" in said
        assert "tokens name the issuer" not in first.log.read_text()

        env = second.env | {"CASEGATE_PORT": str(free_port())}
        refused = cli(env, "serve", "--issuer", "https://elsewhere.example", check=False)
        assert refused.returncode != 0
        assert first.url in refused.stderr and "https://elsewhere.example" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        second.stop()
        first.stop()
