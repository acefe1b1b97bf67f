"""POST /prweb/api/v1/cases: the common case is answered in front of FastAPI
(web/fast_create.py); refusals reach the full route, which answers and audits them."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.models import AuditEvent, Case
from casegate.web import cases_v1
from fixtures.factories import CASES_PATH, get_token

BODY = {"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest", "processID": "pyStartCase",
        "content": {"RequestID": "FT123", "RequestDetail": "faster trains, please!"}}


def token(http: TestClient, demo: dict[str, Any], scope: str = "cases") -> str:
    body = get_token(http, demo["client_id"], demo["client_secret"], scope=scope)
    return str(body["access_token"])


def test_common_case_is_answered_in_front_with_the_routes_answer(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the full route ran")

    monkeypatch.setattr(cases_v1, "transaction", never)
    response = http.post(CASES_PATH, json=BODY,
                         headers={"Authorization": f"Bearer {token(http, demo)}"})
    assert response.status_code == 201
    answer = response.json()
    assert answer["pxObjClass"] == "Pega-API-CaseManagement-Case"
    assert answer["nextAssignmentID"] == f"ASSIGN-WORKLIST {answer['ID']}!STARTCASE_FLOW"
    assert response.headers["etag"] == '"1"'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-frame-options"] == "DENY"
    with db() as session:
        case = session.get(Case, answer["ID"])
        assert case is not None and case.content == BODY["content"]
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event == "case.created", AuditEvent.subject == answer["ID"])) == 1


@pytest.mark.parametrize("case", ["no token", "bad token", "no cases scope", "unknown type",
                                  "not JSON", "extra field"])
def test_refusals_are_the_full_routes(http: TestClient, demo: dict[str, Any],
                                      db: sessionmaker[Session], case: str) -> None:
    body: Any = dict(BODY)
    headers = {"Authorization": f"Bearer {token(http, demo)}"}
    if case == "no token":
        headers = {}
    elif case == "bad token":
        headers = {"Authorization": "Bearer abc.def.ghi"}
    elif case == "no cases scope":
        headers = {"Authorization": f"Bearer {token(http, demo, 'casetypes')}"}
    elif case == "unknown type":
        body["caseTypeID"] = "No-Such-Type"
    elif case == "extra field":
        body["surprise"] = 1
    with db() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    if case == "not JSON":
        response = http.post(CASES_PATH, content=b"{not json", headers={
            **headers, "Content-Type": "application/json"})
    else:
        response = http.post(CASES_PATH, json=body, headers=headers)
    assert response.status_code in (400, 401, 403)
    assert "errors" in response.json()  # the Pega envelope, from the full route
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before
