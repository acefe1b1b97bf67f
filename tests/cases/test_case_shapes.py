"""Response shapes as Pega documents them: API v1 (POST answer, GET /cases/{ID}) and DX API v2
(data.caseInfo with an ETag); the seeds' request body on both (DESIGN)."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cases.case_api import (
    DEMO_TYPE,
    V2_CASES_PATH,
    Caller,
    created_id,
    demo_caller,
    make_case_type,
)
from fixtures.factories import SEED_BODY

SEED_ID = re.compile(r"CNOW-CONNECTNOW-WORK [A-Z][A-Z0-9]*-[0-9]+")
STRONG_ETAG = re.compile(r'"[\x21\x23-\x7e]*"')


@pytest.fixture
def admin(http: TestClient, demo: dict[str, Any]) -> Caller:
    return demo_caller(http, demo)


def utc_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None and parsed.utcoffset() == UTC.utcoffset(None)
    return parsed


def test_v1_post_answers_201_with_pegas_four_keys(admin: Caller) -> None:
    response = admin.create(SEED_BODY)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"ID", "nextAssignmentID", "nextPageID", "pxObjClass"}
    assert SEED_ID.fullmatch(body["ID"]), body["ID"]
    assert body["nextAssignmentID"].startswith(f"ASSIGN-WORKLIST {body['ID']}!")
    assert body["nextPageID"] == "Perform"
    assert body["pxObjClass"] == "Pega-API-CaseManagement-Case"


def test_case_id_is_the_class_group_and_the_prefixed_number(
        db: sessionmaker[Session], admin: Caller) -> None:
    # DESIGN: business ID prefix + sequence (APP-2005); full ID: class group + business ID
    make_case_type(db, "Acme-Permits-Work-Permit", "APP", first_number=2005)
    body = {"caseTypeID": "Acme-Permits-Work-Permit", "processID": "pyStartCase", "content": {}}
    assert created_id(admin.create(body)) == "ACME-PERMITS-WORK APP-2005"
    assert created_id(admin.create(body, V2_CASES_PATH)) == "ACME-PERMITS-WORK APP-2006"
    assert created_id(admin.create(body)) == "ACME-PERMITS-WORK APP-2007"
    case = admin.case("ACME-PERMITS-WORK APP-2006").json()
    assert case["businessID"] == "APP-2006"


def test_v1_get_answers_the_case(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    response = admin.case(case_id)
    assert response.status_code == 200
    assert STRONG_ETAG.fullmatch(response.headers["ETag"])
    case = response.json()
    assert {"ID", "caseTypeID", "status", "content", "parentCaseID", "createTime", "createdBy",
            "lastUpdateTime", "lastUpdatedBy", "pxObjClass"} <= set(case)
    assert case["ID"] == case_id
    assert case["caseTypeID"] == DEMO_TYPE
    assert case["status"] == "New"
    assert case["content"] == SEED_BODY["content"]
    assert case["parentCaseID"] is None
    assert case["createdBy"] == admin.operator
    assert case["lastUpdatedBy"] == admin.operator
    assert case["pxObjClass"] == "Pega-API-CaseManagement-Case"
    created, updated = utc_time(case["createTime"]), utc_time(case["lastUpdateTime"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert updated >= created


def test_v2_post_answers_case_info_and_an_etag(admin: Caller) -> None:
    response = admin.create(SEED_BODY, V2_CASES_PATH)
    assert response.status_code == 201
    assert STRONG_ETAG.fullmatch(response.headers["ETag"])
    info = response.json()["data"]["caseInfo"]
    assert SEED_ID.fullmatch(info["ID"])
    assert info["caseTypeID"] == DEMO_TYPE
    assert info["status"] == "New"
    assert info["content"] == SEED_BODY["content"]
    # the same case through API v1
    v1 = admin.case(info["ID"])
    assert v1.status_code == 200
    assert v1.json()["content"] == SEED_BODY["content"]
    assert v1.headers["ETag"] == response.headers["ETag"]


def test_v2_get_has_the_etag_v1_gives_for_the_same_case(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    v1 = admin.case(case_id)
    v2 = admin.get(f"{V2_CASES_PATH}/{case_id}")
    assert v2.status_code == 200
    assert set(v2.json()) == {"data"}
    assert set(v2.json()["data"]) == {"caseInfo"}
    info = v2.json()["data"]["caseInfo"]
    assert info["ID"] == case_id
    assert info["caseTypeID"] == DEMO_TYPE
    assert info["status"] == "New"
    assert info["content"] == SEED_BODY["content"]
    assert v2.headers["ETag"] == v1.headers["ETag"]

    # after an update through v1 both APIs give the new ETag and content
    updated = admin.update(case_id, {"RequestDetail": "now"}, v1.headers["ETag"])
    assert updated.status_code == 204
    v2 = admin.get(f"{V2_CASES_PATH}/{case_id}")
    assert v2.headers["ETag"] == updated.headers["ETag"] == admin.case(case_id).headers["ETag"]
    assert v2.json()["data"]["caseInfo"]["content"]["RequestDetail"] == "now"


def test_seed_body_works_as_written_on_both_apis(http: TestClient, demo: dict[str, Any]) -> None:
    # the DESIGN's request, byte for byte, with the seeds' client and its token
    raw = ('{"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest", "processID": '
           '"pyStartCase", "content": {"RequestID": "FT123", "RequestDetail": '
           '"faster trains, please!"}}')
    caller = demo_caller(http, demo)
    ids = []
    for path in ("/prweb/api/v1/cases", V2_CASES_PATH):
        response = http.post(path, content=raw, headers=caller.headers(
            **{"Content-Type": "application/json"}))
        assert response.status_code == 201, response.text
        ids.append(response.json()["ID"] if "ID" in response.json()
                   else response.json()["data"]["caseInfo"]["ID"])
    assert len(set(ids)) == 2
    for case_id in ids:
        assert caller.case(case_id).json()["content"] == {
            "RequestID": "FT123", "RequestDetail": "faster trains, please!"}
