"""Every case creation and update is in the audit log with the operator and the client;
`casegate audit` prints it and the API does not expose it (issue 3)."""

import json
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from cases.case_api import DEMO_TYPE, GET, UPDATE, V2_CASES_PATH, act_as, created_id, demo_caller
from fixtures.factories import SEED_BODY, make_group
from fixtures.served import cli


def audit_events(settings: Settings) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEGATE_")}
    env |= {"CASEGATE_HOME": str(settings.home), "CASEGATE_DATABASE_URL": settings.db_url}
    events: list[dict[str, Any]] = json.loads(
        cli(env, "audit", "--json", "--limit", "1000").stdout)
    return events


def test_case_creations_and_updates_are_audited_with_operator_and_client(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    creator = demo_caller(http, demo)
    editor = act_as(http, db, settings, make_group(db, [GET, UPDATE], ["cases"],
                                                   case_types=[DEMO_TYPE]))
    v1_case = created_id(creator.create(SEED_BODY))
    v2_case = created_id(creator.create(SEED_BODY, V2_CASES_PATH))
    tag = editor.case(v1_case).headers["ETag"]
    assert editor.update(v1_case, {"RequestDetail": "checked"}, tag).status_code == 204
    # a refused update changes nothing, so it records no update
    assert editor.update(v1_case, {"RequestDetail": "stale"}, tag).status_code == 412

    events = audit_events(settings)
    created = sorted((e["subject"], e["actor"], e["detail"]["client_id"])
                     for e in events if e["event"] == "case.created")
    assert created == sorted([(v1_case, creator.operator, creator.client_id),
                              (v2_case, creator.operator, creator.client_id)])
    updated = [(e["subject"], e["actor"], e["detail"]["client_id"], e["outcome"])
               for e in events if e["event"] == "case.updated"]
    assert updated == [(v1_case, editor.operator, editor.client_id, "ok")]
    # the log names the client, never its secret or token
    text = json.dumps(events)
    assert creator.secret not in text and editor.secret not in text
    assert creator.token not in text and editor.token not in text


@pytest.mark.parametrize("path", [
    "/prweb/api/v1/audit",
    "/prweb/api/v1/audit/events",
    "/prweb/api/v1/auditlog",
    "/prweb/api/application/v2/audit",
])
def test_the_api_exposes_no_audit_log(http: TestClient, demo: dict[str, Any], path: str) -> None:
    caller = demo_caller(http, demo)
    created_id(caller.create(SEED_BODY))
    assert caller.get(path).status_code == 404


def test_openapi_document_names_no_audit_endpoint(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert paths  # the case API is documented…
    assert [p for p in paths if "audit" in p.lower()] == []  # …and no audit log in it
