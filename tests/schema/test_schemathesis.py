"""/openapi.json means what it says: schemathesis against a served casegate (HTTPS, the local
CA's certificate, a real client registration's token) finds no 5xx, no undocumented status and
no answer off its schema, and follows the links from a new case to reading and updating it.

One database for this run (PostgreSQL: stricter about what it stores, where a bad input
becomes a 500 first); the regressions it found are tests of their own on both."""

import copy
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from schemathesis.openapi.checks import JsonSchemaError, UndefinedStatusCode

from fixtures.api_check import Credentials, register, run
from fixtures.postgres import PostgresServer
from fixtures.served import Served

CASES = "/prweb/api/v1/cases"
CASE = CASES + "/{case_id}"
CASE_TYPES = "/prweb/api/v1/casetypes"


@pytest.fixture(scope="module")
def served(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("schema") / "home"
    server = Served(home, postgres.create_database(f"schema_{uuid.uuid4().hex[:12]}"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def credentials(served: Served) -> Credentials:
    return register(served)


def test_every_operation_answers_as_documented(served: Served, credentials: Credentials,
                                               tmp_path: Path) -> None:
    outcome = run(served, credentials, tmp_path / "run", max_time=20,
                  phases="examples,coverage,fuzzing")
    assert outcome.exit_code == 0, outcome.output
    operations = outcome.report["operations"]
    assert operations["tested"] == operations["total"] > 15, outcome.output
    assert "Traceback" not in served.log.read_text()


def test_a_new_case_is_read_and_updated_through_the_links(
        served: Served, credentials: Credentials, tmp_path: Path) -> None:
    outcome = run(served, credentials, tmp_path / "run", max_time=20, phases="stateful")
    assert outcome.exit_code == 0, outcome.output
    links = re.search(r"API Links:\s+(\d+) covered", outcome.output)
    assert links and int(links.group(1)) > 0, outcome.output
    # followed to the end: a case the run made was updated with the ETag it came with
    with served.client() as web:
        listed = web.get(CASES, params={"pageSize": 500},
                         headers={"Authorization": f"Bearer {credentials.access_token}"})
    assert any(case["lastUpdateTime"] != case["createTime"]
               for case in listed.json()["cases"]), outcome.output
    assert "Traceback" not in served.log.read_text()


def wrong(document: dict[str, object]) -> dict[str, object]:
    """The served schema with two lies in it: a case's 404 left out, and a field no case
    type list has made required."""
    lying = copy.deepcopy(document)
    paths = lying["paths"]
    assert isinstance(paths, dict)
    del paths[CASE]["get"]["responses"]["404"]
    schemas = lying["components"]["schemas"]  # type: ignore[index]
    schemas["CaseTypeList"]["required"].append("pyNotThere")
    schemas["CaseTypeList"]["properties"]["pyNotThere"] = {"type": "string"}
    return lying


def test_a_schema_that_lies_fails_the_check(served: Served, credentials: Credentials,
                                            tmp_path: Path) -> None:
    document = httpx.get(served.url + "/openapi.json", verify=served.tls()).json()
    schema = tmp_path / "wrong.json"
    schema.write_text(json.dumps(wrong(document)))
    outcome = run(served, credentials, tmp_path / "run", schema=str(schema), max_time=30,
                  max_examples=5, paths=(CASE, CASE_TYPES), phases="coverage")
    assert outcome.exit_code != 0, outcome.output
    # the undocumented status, and the body off its schema
    assert {UndefinedStatusCode.code, JsonSchemaError.code} <= outcome.failure_codes, \
        outcome.output
