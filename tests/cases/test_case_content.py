"""What a case is created from: the case type, the process, the parent case, and content
checked against the case type's JSON Schema on create and on update (issue 3)."""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from cases.case_api import (
    CREATE,
    DEMO_TYPE,
    GET,
    UPDATE,
    V2_CASES_PATH,
    Caller,
    act_as,
    created_id,
    demo_caller,
    make_case_type,
    make_group_of_roles,
    pega_error,
)
from fixtures.factories import SEED_BODY, make_group

PERMIT = "Acme-Permits-Work-Permit"
SCHEMA = {
    "type": "object",
    "properties": {
        "RequestID": {"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"},
        "Priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "Address": {"type": "object", "properties": {"Zip": {"type": "string"}},
                    "required": ["Zip"]},
    },
    "required": ["RequestID"],
}
SECRET_LOOKING = "Zq-sent-value-9731"


@dataclass(frozen=True)
class Permits:
    clerk: Caller  # create, read and update permits only


@pytest.fixture
def permits(http: TestClient, db: sessionmaker[Session], settings: Settings) -> Permits:
    make_case_type(db, PERMIT, "PRM", processes=["pyStartCase", "StartPermit"],
                   json_schema=SCHEMA)
    group = make_group(db, [CREATE, GET, UPDATE], ["cases"], case_types=[PERMIT])
    return Permits(act_as(http, db, settings, group))


def permit(content: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"caseTypeID": PERMIT, "processID": "pyStartCase", "content": content, **fields}


def test_valid_content_creates_the_case(permits: Permits) -> None:
    content = {"RequestID": "FT123", "Priority": 3, "Address": {"Zip": "02139"}}
    case_id = created_id(permits.clerk.create(permit(content)))
    assert permits.clerk.case(case_id).json()["content"] == content


@pytest.mark.parametrize("content, field", [
    ({"Priority": 1}, "content.RequestID"),  # required
    ({"RequestID": 123}, "content.RequestID"),  # type
    ({"RequestID": SECRET_LOOKING}, "content.RequestID"),  # pattern
    ({"RequestID": "FT1", "Priority": 9}, "content.Priority"),  # maximum
    ({"RequestID": "FT1", "Address": {"Street": "Main"}}, "content.Address.Zip"),  # nested
])
def test_content_failing_the_schema_on_create_is_400_naming_the_field(
        permits: Permits, content: dict[str, Any], field: str) -> None:
    for path in (None, V2_CASES_PATH):
        response = (permits.clerk.create(permit(content)) if path is None
                    else permits.clerk.create(permit(content), path))
        assert response.status_code == 400
        if path is None:
            message = pega_error(response, 400)
            assert field in message
            assert SECRET_LOOKING not in message  # the schema's rule, never the value sent
    assert permits.clerk.get("/prweb/api/v1/cases").json()["total"] == 0


def test_content_failing_the_schema_on_update_is_400_and_changes_nothing(
        permits: Permits) -> None:
    case_id = created_id(permits.clerk.create(permit({"RequestID": "FT1"})))
    tag = permits.clerk.case(case_id).headers["ETag"]

    assert "content.Priority" in pega_error(permits.clerk.update(case_id, {"Priority": 0}, tag),
                                            400)
    assert "content.RequestID" in pega_error(
        permits.clerk.update(case_id, {"RequestID": "lower-case"}, tag), 400)
    case = permits.clerk.case(case_id)
    assert case.json()["content"] == {"RequestID": "FT1"}
    assert case.headers["ETag"] == tag

    # the merged content is what must satisfy the schema
    assert permits.clerk.update(case_id, {"Priority": 5}, tag).status_code == 204
    assert permits.clerk.case(case_id).json()["content"] == {"RequestID": "FT1", "Priority": 5}


def test_unknown_case_type_is_400(permits: Permits) -> None:
    body = {"caseTypeID": "Acme-Permits-Work-NoSuchThing", "processID": "pyStartCase",
            "content": {}}
    assert "caseTypeID" in pega_error(permits.clerk.create(body), 400)
    assert permits.clerk.create(body, V2_CASES_PATH).status_code == 400


def test_only_the_case_types_processes_may_start_it(permits: Permits) -> None:
    content = {"RequestID": "FT1"}
    assert "processID" in pega_error(
        permits.clerk.create(permit(content, processID="pyStartSomethingElse")), 400)
    created_id(permits.clerk.create(permit(content, processID="StartPermit")))
    # processID may be left out: pyStartCase, Pega's default
    created_id(permits.clerk.create({"caseTypeID": PERMIT, "content": content}))


def test_parent_case_id_links_a_child_case(permits: Permits) -> None:
    parent = created_id(permits.clerk.create(permit({"RequestID": "FT1"})))
    child = created_id(permits.clerk.create(permit({"RequestID": "FT2"}, parentCaseID=parent)))
    assert permits.clerk.case(child).json()["parentCaseID"] == parent
    assert permits.clerk.get(f"{V2_CASES_PATH}/{child}").json()["data"]["caseInfo"][
        "parentCaseID"] == parent
    assert permits.clerk.case(parent).json()["parentCaseID"] is None


def test_unknown_or_invisible_parent_is_400(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    hidden = created_id(demo_caller(http, demo).create(SEED_BODY))
    own_only = make_group_of_roles(db, [([CREATE, GET], [DEMO_TYPE], False)])
    caller = act_as(http, db, settings, own_only)

    unknown = pega_error(caller.create(SEED_BODY | {"parentCaseID": "CNOW-CONNECTNOW-WORK X-1"}),
                         400)
    assert "parentCaseID" in unknown
    # a parent the operator may not see is answered as one that does not exist
    assert pega_error(caller.create(SEED_BODY | {"parentCaseID": hidden}), 400) == unknown
    assert caller.get("/prweb/api/v1/cases").json()["total"] == 0
