"""GET /cases: pages (page, pageSize, total, hasMore) and filters (caseTypeID, status)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cases.case_api import DEMO_TYPE, Caller, created_id, demo_caller, make_case_type, pega_error
from fixtures.factories import CASES_PATH

PERMIT = "Acme-Permits-Work-Permit"


@pytest.fixture
def admin(http: TestClient, demo: dict[str, Any]) -> Caller:
    return demo_caller(http, demo)


@pytest.fixture
def seven(db: sessionmaker[Session], admin: Caller) -> dict[str, set[str]]:
    """Five permits and two city services requests."""
    make_case_type(db, PERMIT, "PRM")
    made: dict[str, set[str]] = {PERMIT: set(), DEMO_TYPE: set()}
    for case_type in [PERMIT] * 5 + [DEMO_TYPE] * 2:
        made[case_type].add(created_id(admin.create(
            {"caseTypeID": case_type, "processID": "pyStartCase", "content": {}})))
    return made


def page(caller: Caller, **params: Any) -> dict[str, Any]:
    response = caller.get(CASES_PATH, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"cases", "page", "pageSize", "total", "hasMore"}
    return body


def test_pages_cover_every_case_once(admin: Caller, seven: dict[str, set[str]]) -> None:
    everything = seven[PERMIT] | seven[DEMO_TYPE]
    seen: list[str] = []
    for number, size, more in ((1, 3, True), (2, 3, True), (3, 1, False)):
        body = page(admin, page=number, pageSize=3)
        assert (body["page"], body["pageSize"], body["total"]) == (number, 3, 7)
        assert len(body["cases"]) == size
        assert body["hasMore"] is more
        seen += [case["ID"] for case in body["cases"]]
    assert sorted(seen) == sorted(everything)

    past_the_end = page(admin, page=4, pageSize=3)
    assert past_the_end["cases"] == []
    assert past_the_end["total"] == 7
    assert past_the_end["hasMore"] is False

    exact = page(admin, page=1, pageSize=7)
    assert len(exact["cases"]) == 7
    assert exact["hasMore"] is False


def test_case_type_filter(admin: Caller, seven: dict[str, set[str]]) -> None:
    body = page(admin, caseTypeID=PERMIT, pageSize=2)
    assert body["total"] == 5
    assert body["hasMore"] is True
    assert {case["caseTypeID"] for case in body["cases"]} == {PERMIT}
    whole = page(admin, caseTypeID=PERMIT, pageSize=500)
    assert {case["ID"] for case in whole["cases"]} == seven[PERMIT]
    assert page(admin, caseTypeID="Acme-Permits-Work-NoSuchThing")["total"] == 0


def test_status_filter(admin: Caller, seven: dict[str, set[str]]) -> None:
    # a new case's status is New (Pega's first status)
    assert page(admin, status="New", pageSize=500)["total"] == 7
    assert {case["status"] for case in page(admin, status="New")["cases"]} == {"New"}
    assert page(admin, status="Resolved-Completed")["total"] == 0
    assert page(admin, status="New", caseTypeID=DEMO_TYPE)["total"] == 2


def test_list_items_summarise_the_case(admin: Caller, seven: dict[str, set[str]]) -> None:
    case_id = sorted(seven[DEMO_TYPE])[0]
    item = next(c for c in page(admin, caseTypeID=DEMO_TYPE)["cases"] if c["ID"] == case_id)
    assert item["caseTypeID"] == DEMO_TYPE
    assert item["status"] == "New"
    assert item["createdBy"] == admin.operator


@pytest.mark.parametrize("params, field", [
    ({"pageSize": 0}, "pageSize"),
    ({"pageSize": 501}, "pageSize"),
    ({"pageSize": "ten"}, "pageSize"),
    ({"page": 0}, "page"),
    ({"page": -1}, "page"),
])
def test_out_of_range_paging_is_400(admin: Caller, params: dict[str, Any], field: str) -> None:
    assert field in pega_error(admin.get(CASES_PATH, **params), 400)


def test_largest_page_size_is_500(admin: Caller, seven: dict[str, set[str]]) -> None:
    body = page(admin, pageSize=500)
    assert body["pageSize"] == 500
    assert len(body["cases"]) == 7
