"""Two external systems acting as operators of different access groups: each sees and does
exactly what its group allows (issue 3), with 403 for a missing privilege and 404 for a case
the operator may not see."""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from cases.case_api import (
    CASETYPES_PATH,
    CREATE,
    DEMO_TYPE,
    GET,
    TYPES,
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
from fixtures.factories import CASES_PATH, make_group

PERMIT = "Acme-Permits-Work-Permit"
COMPLAINT = "Acme-Permits-Work-Complaint"


@dataclass(frozen=True)
class World:
    a: Caller  # create + read all + update on PERMIT only; may list case types
    b: Caller  # read own on every type, create on COMPLAINT; nothing else
    admin: Caller  # the seeds' client (PegaAPI role)


@pytest.fixture
def world(http: TestClient, db: sessionmaker[Session], settings: Settings,
          demo: dict[str, Any]) -> World:
    make_case_type(db, PERMIT, "PRM", name="Permit")
    make_case_type(db, COMPLAINT, "CMP", name="Complaint",
                   processes=["pyStartCase", "StartComplaint"])
    group_a = make_group(db, [CREATE, GET, UPDATE, TYPES], ["cases", "casetypes"],
                         case_types=[PERMIT], read_all=True)
    group_b = make_group_of_roles(db, [([GET], ["*"], False), ([CREATE], [COMPLAINT], True)])
    return World(act_as(http, db, settings, group_a), act_as(http, db, settings, group_b),
                 demo_caller(http, demo))


def body(case_type: str, **content: Any) -> dict[str, Any]:
    return {"caseTypeID": case_type, "processID": "pyStartCase", "content": content}


def test_create_is_allowed_only_on_the_case_types_the_group_grants(world: World) -> None:
    assert world.a.create(body(PERMIT)).status_code == 201
    assert world.b.create(body(COMPLAINT)).status_code == 201

    for caller, refused in ((world.a, COMPLAINT), (world.a, DEMO_TYPE), (world.b, PERMIT)):
        message = pega_error(caller.create(body(refused)), 403)
        assert "pxCreateCase" in message
        assert caller.operator in message
        assert refused in message
        assert caller.create(body(refused), V2_CASES_PATH).status_code == 403


def test_refused_create_makes_no_case(world: World) -> None:
    pega_error(world.b.create(body(PERMIT)), 403)
    listed = world.admin.get(CASES_PATH, caseTypeID=PERMIT).json()
    assert listed["total"] == 0
    # the refused call took no number: the type's first case is still PRM-1
    assert created_id(world.a.create(body(PERMIT))) == "ACME-PERMITS-WORK PRM-1"


def test_read_own_operator_gets_404_for_another_operators_case(world: World) -> None:
    a_case = created_id(world.a.create(body(PERMIT)))
    b_case = created_id(world.b.create(body(COMPLAINT)))
    admin_permit = created_id(world.admin.create(body(PERMIT)))
    admin_complaint = created_id(world.admin.create(body(COMPLAINT)))

    assert world.b.case(b_case).status_code == 200
    unknown = pega_error(world.b.case("ACME-PERMITS-WORK PRM-999"), 404)
    for hidden in (a_case, admin_permit, admin_complaint):
        # 404, not 403, and the same answer as for a case that does not exist
        assert pega_error(world.b.case(hidden), 404) == unknown
        assert world.b.get(f"{V2_CASES_PATH}/{hidden}").status_code == 404


def test_read_all_operator_sees_every_case_of_its_types_and_no_other(world: World) -> None:
    a_case = created_id(world.a.create(body(PERMIT)))
    b_case = created_id(world.b.create(body(COMPLAINT)))
    admin_permit = created_id(world.admin.create(body(PERMIT)))
    admin_request = created_id(world.admin.create(body(DEMO_TYPE)))

    for visible in (a_case, admin_permit):
        answer = world.a.case(visible)
        assert answer.status_code == 200
        assert answer.json()["ID"] == visible
    unknown = pega_error(world.a.case("ACME-PERMITS-WORK CMP-999"), 404)
    for hidden in (b_case, admin_request):
        assert pega_error(world.a.case(hidden), 404) == unknown


def listed_ids(caller: Caller, **params: Any) -> set[str]:
    response = caller.get(CASES_PATH, **params)
    assert response.status_code == 200, response.text
    answer = response.json()
    ids = {case["ID"] for case in answer["cases"]}
    assert answer["total"] == len(ids)
    return ids


def test_each_operator_lists_only_the_cases_it_may_see(world: World) -> None:
    a_case = created_id(world.a.create(body(PERMIT)))
    b_case = created_id(world.b.create(body(COMPLAINT)))
    admin_permit = created_id(world.admin.create(body(PERMIT)))
    admin_complaint = created_id(world.admin.create(body(COMPLAINT)))
    admin_request = created_id(world.admin.create(body(DEMO_TYPE)))

    assert listed_ids(world.a) == {a_case, admin_permit}
    assert listed_ids(world.b) == {b_case}
    assert listed_ids(world.admin) == {a_case, b_case, admin_permit, admin_complaint,
                                       admin_request}
    # a filter narrows what the operator may see; it never widens it
    assert listed_ids(world.a, caseTypeID=COMPLAINT) == set()
    assert listed_ids(world.b, caseTypeID=COMPLAINT) == {b_case}


def test_listing_without_pxgetcases_is_403_naming_the_privilege(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    creator = act_as(http, db, settings, make_group(db, [CREATE], ["cases"]))
    message = pega_error(creator.get(CASES_PATH), 403)
    assert "pxGetCases" in message
    assert creator.operator in message


def test_update_answers_404_when_not_visible_and_403_when_visible_without_pxupdatecase(
        world: World) -> None:
    a_case = created_id(world.a.create(body(PERMIT)))
    b_case = created_id(world.b.create(body(COMPLAINT)))
    tag_a, tag_b = world.admin.case(a_case).headers["ETag"], world.b.case(b_case).headers["ETag"]

    # B may see its own case but holds no pxUpdateCase: a clear 403
    message = pega_error(world.b.update(b_case, {"Note": "x"}, tag_b), 403)
    assert "pxUpdateCase" in message
    assert world.b.operator in message
    # B may not see A's case, A may not see B's: 404, as for a case that does not exist
    unknown = pega_error(world.b.update("ACME-PERMITS-WORK PRM-999", {"Note": "x"}, tag_a), 404)
    assert pega_error(world.b.update(a_case, {"Note": "x"}, tag_a), 404) == unknown
    assert pega_error(world.a.update(b_case, {"Note": "x"}, tag_b), 404) == unknown

    # nothing changed; A may update the case it sees and holds pxUpdateCase on
    assert world.b.case(b_case).json()["content"] == {}
    assert world.a.update(a_case, {"Note": "by A"}, tag_a).status_code == 204
    assert world.admin.case(a_case).json()["content"] == {"Note": "by A"}


def test_update_of_a_case_seen_through_read_all_but_updatable_only_if_own_is_403(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    group = make_group_of_roles(db, [([GET], [DEMO_TYPE], True),
                                     ([CREATE, UPDATE], [DEMO_TYPE], False)])
    clerk = act_as(http, db, settings, group)
    own = created_id(clerk.create(body(DEMO_TYPE)))
    other = created_id(demo_caller(http, demo).create(body(DEMO_TYPE)))

    assert clerk.update(own, {"Note": "mine"}, clerk.case(own).headers["ETag"]).status_code == 204
    message = pega_error(clerk.update(other, {"Note": "x"}, clerk.case(other).headers["ETag"]),
                         403)
    assert "pxUpdateCase" in message
    assert clerk.operator in message


def case_type_ids(caller: Caller) -> list[str]:
    response = caller.get(CASETYPES_PATH)
    assert response.status_code == 200, response.text
    return [case_type["ID"] for case_type in response.json()["caseTypes"]]


def test_casetypes_lists_only_the_case_types_the_operator_may_create(
        world: World, http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    answer = world.a.get(CASETYPES_PATH)
    assert answer.status_code == 200
    # Pega API v1's GET /casetypes shape
    assert answer.json() == {"caseTypes": [{
        "ID": PERMIT, "name": "Permit", "CanCreate": True,
        "startingProcesses": [{"ID": "pyStartCase", "name": "pyStartCase",
                               "requiresFieldsToCreate": False}]}]}
    assert sorted(case_type_ids(world.admin)) == sorted([PERMIT, COMPLAINT, DEMO_TYPE])

    complaints = act_as(http, db, settings, make_group(db, [CREATE, TYPES], ["casetypes"],
                                                       case_types=[COMPLAINT]))
    listed = complaints.get(CASETYPES_PATH).json()["caseTypes"]
    assert [c["ID"] for c in listed] == [COMPLAINT]
    assert [p["ID"] for p in listed[0]["startingProcesses"]] == ["pyStartCase", "StartComplaint"]

    reader = act_as(http, db, settings, make_group(db, [GET, TYPES], ["casetypes"]))
    assert case_type_ids(reader) == []


def test_casetypes_needs_pxgetcasetypes(world: World) -> None:
    # B may create complaints, but its group does not grant pxGetCaseTypes
    assert "casetypes" in world.b.scope.split(" ")
    message = pega_error(world.b.get(CASETYPES_PATH), 403)
    assert "pxGetCaseTypes" in message
    assert world.b.operator in message
