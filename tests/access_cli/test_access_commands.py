"""`casegate role|accessgroup|casetype|operator …` as a user runs them (real subprocesses), and
what a client acting as an operator made with them may then do over HTTP."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casegate.settings import Settings
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.factories import CASES_PATH, SEED_BODY, bearer, get_token
from fixtures.served import cli

PEGA_API = "PegaRULES:PegaAPI"
ALL_PRIVILEGES = ["pxCreateCase", "pxGetCases", "pxUpdateCase", "pxGetCaseTypes"]
DEMO_TYPE = "Cnow-connectnow-Work-CityServicesRequest"
DEMO_GROUP = "CityServices:APIClients"
ADMIN_GROUP = "casegate:Administrators"
ADMIN_ROLE = {"role": "casegate:Administrator", "privileges": ["casegate:Admin"],
              "case_types": ["*"], "read_all": True}
PARCEL = "Cgt-Depot-Work-Parcel"
CASETYPES_PATH = "/prweb/api/v1/casetypes"
# for what does not depend on the engine: each command is a ~1 s subprocess
ON_SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
PARCEL_SCHEMA = {"type": "object", "required": ["Weight"],
                 "properties": {"Weight": {"type": "number", "minimum": 0}}}


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """A user's shell on the `settings` fixture's home and (initialised, demo) database."""
    return user_shell(settings)


def test_role_create_and_list_answer_exact_json(env: dict[str, str]) -> None:
    reader = as_json(cli(env, "role", "create", "Claims:Reader", "--privilege", "pxGetCases",
                         "--privilege", "pxGetCaseTypes", "--case-type", DEMO_TYPE,
                         "--read-own", "--json"))
    assert reader == {"role": "Claims:Reader", "privileges": ["pxGetCases", "pxGetCaseTypes"],
                      "case_types": [DEMO_TYPE], "read_all": False}
    # without --case-type and --read-own: every case type, every case
    creator = as_json(cli(env, "role", "create", "Claims:Creator", "--privilege",
                          "pxCreateCase", "--json"))
    assert creator == {"role": "Claims:Creator", "privileges": ["pxCreateCase"],
                       "case_types": ["*"], "read_all": True}

    listed = as_json(cli(env, "role", "list", "--json"))
    # ordered by name (byte order); the shipped role grants everything on every case type,
    # as Pega's does; the administrators' role grants the console
    assert listed == [creator, reader, {"role": PEGA_API, "privileges": ALL_PRIVILEGES,
                                        "case_types": ["*"], "read_all": True}, ADMIN_ROLE]


def test_accessgroup_create_show_and_list_answer_exact_json(env: dict[str, str]) -> None:
    default = as_json(cli(env, "accessgroup", "create", "Claims:Agents", "--role", PEGA_API,
                          "--json"))
    # the default scopes are the case API's: cases and casetypes
    assert default == {"access_group": "Claims:Agents", "roles": [PEGA_API],
                       "scopes": ["cases", "casetypes"]}
    narrow = as_json(cli(env, "accessgroup", "create", "Claims:Readers", "--role", PEGA_API,
                         "--scope", "cases", "--json"))
    assert narrow == {"access_group": "Claims:Readers", "roles": [PEGA_API], "scopes": ["cases"]}

    assert as_json(cli(env, "accessgroup", "show", "Claims:Readers", "--json")) == narrow
    listed = as_json(cli(env, "accessgroup", "list", "--json"))
    assert [group["access_group"] for group in listed] == [
        DEMO_GROUP, "Claims:Agents", "Claims:Readers", ADMIN_GROUP]
    assert listed[0] == {"access_group": DEMO_GROUP, "roles": [PEGA_API],
                         "scopes": ["cases", "casetypes"]}
    assert listed[1:3] == [default, narrow]


@ON_SQLITE_ONLY
def test_accessgroup_show_prints_lines_for_people(env: dict[str, str]) -> None:
    shown = cli(env, "accessgroup", "show", DEMO_GROUP)
    assert shown.stdout.splitlines() == [f"access_group  {DEMO_GROUP}",
                                         f"roles         {PEGA_API}",
                                         "scopes        cases, casetypes"]


def test_casetype_create_and_list_answer_exact_json(env: dict[str, str], tmp_path: Path) -> None:
    schema = tmp_path / "parcel.schema.json"
    schema.write_text(json.dumps(PARCEL_SCHEMA))
    parcel = as_json(cli(env, "casetype", "create", PARCEL, "--prefix", "PAR", "--name",
                         "Parcel", "--process", "pyStartCase", "--process", "Intake",
                         "--schema", str(schema), "--first-number", "2005", "--json"))
    assert parcel == {"case_type": PARCEL, "name": "Parcel", "prefix": "PAR",
                      "class_group": "Cgt-Depot-Work", "processes": ["pyStartCase", "Intake"],
                      "next_number": 2005, "schema": PARCEL_SCHEMA}
    # the defaults: the name is the class name's last part, started by pyStartCase, from 1
    plain = as_json(cli(env, "casetype", "create", "Cgt-Depot-Work-Return", "--prefix", "R2",
                        "--json"))
    assert plain == {"case_type": "Cgt-Depot-Work-Return", "name": "Return", "prefix": "R2",
                     "class_group": "Cgt-Depot-Work", "processes": ["pyStartCase"],
                     "next_number": 1, "schema": None}

    listed = as_json(cli(env, "casetype", "list", "--json"))
    assert listed == [parcel, plain, {
        "case_type": DEMO_TYPE, "name": "City services request", "prefix": "REQ",
        "class_group": "Cnow-connectnow-Work", "processes": ["pyStartCase"],
        "next_number": 1001, "schema": None}]


# refused by a lookup in the database: on both engines
REFUSED_BY_THE_DATABASE = {
    "role on an unknown case type": (["role", "create", "Bad:Role", "--privilege", "pxGetCases",
                                      "--case-type", "Nope-App-Work-Missing"],
                                     ["Nope-App-Work-Missing", "not found"]),
    "duplicate role": (["role", "create", PEGA_API, "--privilege", "pxGetCases"],
                       [PEGA_API, "already exists"]),
    "unknown role in a group": (["accessgroup", "create", "Bad:Group", "--role", "No:Such"],
                                ["No:Such", "not found"]),
    "duplicate group": (["accessgroup", "create", DEMO_GROUP, "--role", PEGA_API],
                        [DEMO_GROUP, "already exists"]),
    "show an unknown group": (["accessgroup", "show", "No:Such"], ["No:Such", "not found"]),
    "duplicate case type": (["casetype", "create", DEMO_TYPE, "--prefix", "REQ"],
                            [DEMO_TYPE, "already exists"]),
    "operator in an unknown group": (["operator", "create", "svc@test", "--access-group",
                                      "No:Such"], ["No:Such", "not found"]),
}


@pytest.mark.parametrize("case", REFUSED_BY_THE_DATABASE.values(),
                         ids=REFUSED_BY_THE_DATABASE.keys())
def test_commands_naming_missing_or_existing_records_fail_cleanly(
        env: dict[str, str], case: tuple[list[str], list[str]]) -> None:
    args, phrases = case
    assert_fails_cleanly(cli(env, *args, "--json", check=False), *phrases)


# refused by checking the input alone, the same on every engine
INVALID_INPUT = {
    "unknown privilege": (["role", "create", "Bad:Role", "--privilege", "pxDeleteCase"],
                          ["pxDeleteCase"]),
    "scope with a space": (["accessgroup", "create", "Bad:Group", "--role", PEGA_API,
                            "--scope", "cases all"], ["scope"]),
    "bad class name": (["casetype", "create", "Parcel", "--prefix", "PAR"], ["class"]),
    "class name with a space": (["casetype", "create", "Cgt-Depot-Work-Big Parcel",
                                 "--prefix", "PAR"], ["class"]),
    "lower-case prefix": (["casetype", "create", PARCEL, "--prefix", "par"], ["prefix"]),
    "prefix with a dash": (["casetype", "create", PARCEL, "--prefix", "PA-R"], ["prefix"]),
    "first number zero": (["casetype", "create", PARCEL, "--prefix", "PAR",
                           "--first-number", "0"], ["first-number"]),
    "person without a password": (["operator", "create", "ann@test", "--person",
                                   "--access-group", DEMO_GROUP], ["password"]),
    "service operator with a password": (["operator", "create", "svc@test", "--service",
                                          "--access-group", DEMO_GROUP, "--password",
                                          "s3cret-enough"], ["password"]),
}


@ON_SQLITE_ONLY
@pytest.mark.parametrize("case", INVALID_INPUT.values(), ids=INVALID_INPUT.keys())
def test_commands_with_invalid_input_fail_cleanly(
        env: dict[str, str], case: tuple[list[str], list[str]]) -> None:
    args, phrases = case
    assert_fails_cleanly(cli(env, *args, "--json", check=False), *phrases)


BAD_SCHEMAS = {
    "not a JSON Schema": ('{"type": "strng"}', "schema"),
    "a JSON array": ('[{"type": "object"}]', "schema"),
    "not JSON": ("type: object\n", "schema"),
    "not UTF-8": (b"\xff\xfe{}", "schema"),
    "a $ref to nowhere": ('{"$ref": "#/$defs/missing"}', "$defs/missing"),
    # the server must not fetch URLs a schema names: such a schema cannot be checked here
    "a remote $ref": ('{"properties": {"a": {"$ref": "https://schemas.invalid/a.json"}}}',
                      "https://schemas.invalid/a.json"),
}


@ON_SQLITE_ONLY
@pytest.mark.parametrize("case", BAD_SCHEMAS.values(), ids=BAD_SCHEMAS.keys())
def test_casetype_with_an_invalid_schema_file_fails_cleanly(
        env: dict[str, str], tmp_path: Path, case: tuple[str | bytes, str]) -> None:
    content, phrase = case
    schema = tmp_path / "schema.json"
    if isinstance(content, bytes):
        schema.write_bytes(content)
    else:
        schema.write_text(content)
    assert_fails_cleanly(cli(env, "casetype", "create", PARCEL, "--prefix", "PAR", "--schema",
                             str(schema), check=False), phrase)


@ON_SQLITE_ONLY
@pytest.mark.parametrize("where", ["missing.json", "."], ids=["missing file", "a directory"])
def test_casetype_with_an_unreadable_schema_file_fails_cleanly(
        env: dict[str, str], tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    assert_fails_cleanly(cli(env, "casetype", "create", PARCEL, "--prefix", "PAR", "--schema",
                             str(path), check=False), "schema", str(path))


@ON_SQLITE_ONLY
def test_casetype_refused_for_its_schema_is_not_created(env: dict[str, str],
                                                        tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"$ref": "#/$defs/missing"}')
    assert cli(env, "casetype", "create", PARCEL, "--prefix", "PAR", "--schema", str(schema),
               check=False).returncode == 1
    listed = as_json(cli(env, "casetype", "list", "--json"))
    assert [case_type["case_type"] for case_type in listed] == [DEMO_TYPE]


def make_caller(env: dict[str, str], http: TestClient, name: str,
                *role_args: str) -> dict[str, Any]:
    """A role, an access group of it, a service operator in the group and a client acting as
    it, all through the CLI; then a token for the client (same database, in-process app)."""
    cli(env, "role", "create", f"{name}:Role", *role_args)
    cli(env, "accessgroup", "create", f"{name}:Group", "--role", f"{name}:Role")
    operator = as_json(cli(env, "operator", "create", f"{name.lower()}@test", "--service",
                           "--access-group", f"{name}:Group", "--json"))
    assert operator == {"operator": f"{name.lower()}@test", "name": f"{name.lower()}@test",
                        "kind": "service", "access_group": f"{name}:Group", "enabled": True}
    client = as_json(cli(env, "client", "create", "--name", f"{name} client", "--operator",
                         operator["operator"], "--json"))
    assert client["operator"] == operator["operator"]
    token = get_token(http, client["client_id"], client["client_secret"])
    # the client may ask for what its group allows: the default scopes
    assert sorted(token["scope"].split()) == ["cases", "casetypes"]
    return token


def demo_case(http: TestClient, demo: dict[str, Any]) -> str:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert created.status_code == 201, created.text
    return str(created.json()["ID"])


def assert_forbidden(answer: Any, message_has: str) -> None:
    assert answer.status_code == 403
    body = answer.json()
    assert body["pxObjClass"] == "Pega-API"
    assert [e["ID"] for e in body["errors"]] == ["Pega_API_Forbidden"]
    assert message_has in body["errors"][0]["message"]


def test_operator_with_only_pxgetcases_reads_cases_but_cannot_create(
        env: dict[str, str], http: TestClient, demo: dict[str, Any]) -> None:
    case_id = demo_case(http, demo)
    token = make_caller(env, http, "Reader", "--privilege", "pxGetCases")["access_token"]

    listed = http.get(CASES_PATH, headers=bearer(token))
    assert listed.status_code == 200
    assert [case["ID"] for case in listed.json()["cases"]] == [case_id]
    assert http.get(f"{CASES_PATH}/{case_id}", headers=bearer(token)).status_code == 200

    assert_forbidden(http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)), "pxCreateCase")
    assert_forbidden(http.get(CASETYPES_PATH, headers=bearer(token)), "pxGetCaseTypes")
    # the refused creation took no case number: the demo's next case is the one after
    assert demo_case(http, demo) == "CNOW-CONNECTNOW-WORK REQ-1002"


def test_role_limited_to_a_case_type_and_read_own_as_made_with_the_cli(
        env: dict[str, str], http: TestClient, demo: dict[str, Any], tmp_path: Path) -> None:
    others = demo_case(http, demo)
    schema = tmp_path / "parcel.json"
    schema.write_text(json.dumps(PARCEL_SCHEMA))
    cli(env, "casetype", "create", PARCEL, "--prefix", "PAR", "--schema", str(schema),
        "--first-number", "7")
    token = make_caller(env, http, "Depot", "--privilege", "pxCreateCase", "--privilege",
                        "pxGetCases", "--case-type", PARCEL, "--read-own")["access_token"]

    created = http.post(CASES_PATH, json={"caseTypeID": PARCEL, "content": {"Weight": 2.5}},
                        headers=bearer(token))
    assert created.status_code == 201, created.text
    assert created.json()["ID"] == "CGT-DEPOT-WORK PAR-7"
    # the schema given to `casetype create` is enforced, naming the field
    bad = http.post(CASES_PATH, json={"caseTypeID": PARCEL, "content": {"Weight": "heavy"}},
                    headers=bearer(token))
    assert bad.status_code == 400
    assert "content.Weight" in bad.json()["errors"][0]["message"]
    # no privilege on the demo's case type: no creating, and its cases are not there at all
    assert_forbidden(http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)), DEMO_TYPE)
    assert http.get(f"{CASES_PATH}/{others}", headers=bearer(token)).status_code == 404
    listed = http.get(CASES_PATH, headers=bearer(token)).json()
    assert [case["ID"] for case in listed["cases"]] == ["CGT-DEPOT-WORK PAR-7"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
])
def test_casetype_with_a_ref_loop_is_refused(env: dict[str, str], tmp_path: Path,
                                             schema: dict[str, Any]) -> None:
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(schema))
    result = cli(env, "casetype", "create", "Acme-App-Work-Loop", "--prefix", "L",
                 "--schema", str(path), check=False)
    assert result.returncode != 0
    assert "loop" in result.stderr and "Traceback" not in result.stderr
