import uuid
from collections.abc import Iterator

import pytest

from fixtures.postgres import PostgresServer
from fixtures.remote import Pair, make_pair


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def pair(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """A producer and a consumer casegate, set up once per test run and database engine (tests leave them as they found them)."""
    tmp = tmp_path_factory.mktemp("remote")
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp / name}.db" for name in ("producer", "consumer")]
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        urls = [server.create_database(f"r_{uuid.uuid4().hex[:16]}") for _ in range(2)]
    made = make_pair(tmp, *urls)
    try:
        yield made
    finally:
        made.consumer.stop()
        made.producer.stop()
