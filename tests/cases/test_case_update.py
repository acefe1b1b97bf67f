"""PUT /cases/{ID}: content merged, optimistic locking with If-Match (RFC 9110 §13.1.1,
RFC 6585 §3 for 428), the new ETag, and who updated the case."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from cases.case_api import (
    DEMO_TYPE,
    GET,
    UPDATE,
    V2_CASES_PATH,
    Caller,
    act_as,
    created_id,
    demo_caller,
    pega_error,
)
from fixtures.factories import CASES_PATH, SEED_BODY, make_group

STRONG_ETAG = re.compile(r'"[\x21\x23-\x7e]*"')  # RFC 9110 §8.8.3 entity-tag, not weak


@pytest.fixture
def admin(http: TestClient, demo: dict[str, Any]) -> Caller:
    return demo_caller(http, demo)


def etag_of(caller: Caller, case_id: str) -> str:
    response = caller.case(case_id)
    assert response.status_code == 200
    tag = response.headers["ETag"]
    assert STRONG_ETAG.fullmatch(tag), tag
    return tag


def test_update_merges_content_and_answers_204_with_a_new_etag(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    before = etag_of(admin, case_id)

    response = admin.update(case_id, {"RequestDetail": "even faster trains", "Priority": 2},
                            before)
    assert response.status_code == 204
    assert response.content == b""
    after = response.headers["ETag"]
    assert STRONG_ETAG.fullmatch(after)
    assert after != before

    case = admin.case(case_id)
    assert case.headers["ETag"] == after
    assert case.json()["content"] == {"RequestID": "FT123",
                                      "RequestDetail": "even faster trains", "Priority": 2}
    assert admin.get(f"{V2_CASES_PATH}/{case_id}").headers["ETag"] == after


def test_update_records_the_operator_as_last_updated_by(
        http: TestClient, db: sessionmaker[Session], settings: Settings, admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    editor = act_as(http, db, settings, make_group(db, [GET, UPDATE], ["cases"],
                                                   case_types=[DEMO_TYPE]))
    assert editor.update(case_id, {"Note": "checked"}, etag_of(editor, case_id)).status_code == 204

    case = admin.case(case_id).json()
    assert case["createdBy"] == admin.operator
    assert case["lastUpdatedBy"] == editor.operator
    assert case["content"]["Note"] == "checked"


def test_stale_etag_is_412_and_changes_nothing(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    first = etag_of(admin, case_id)
    assert admin.update(case_id, {"Step": 1}, first).status_code == 204
    second = etag_of(admin, case_id)

    # a second writer that read the case before the first update loses cleanly
    pega_error(admin.update(case_id, {"Step": "lost"}, first), 412)
    assert admin.case(case_id).json()["content"]["Step"] == 1
    assert etag_of(admin, case_id) == second
    pega_error(admin.update(case_id, {"Step": "lost"}, '"no-such-version"'), 412)


def test_missing_if_match_is_428(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    before = etag_of(admin, case_id)
    pega_error(admin.update(case_id, {"Step": 1}, None), 428)
    pega_error(admin.update(case_id, {"Step": 1}, ""), 428)
    assert "Step" not in admin.case(case_id).json()["content"]
    assert etag_of(admin, case_id) == before


def test_weak_etag_never_matches_as_rfc_9110_compares_if_match_strongly(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    tag = etag_of(admin, case_id)
    pega_error(admin.update(case_id, {"Step": 1}, "W/" + tag), 412)
    assert etag_of(admin, case_id) == tag


def test_if_match_star_or_a_list_holding_the_current_etag_updates(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    assert admin.update(case_id, {"Step": 1}, "*").status_code == 204
    tag = etag_of(admin, case_id)
    assert admin.update(case_id, {"Step": 2}, f'"999", {tag}').status_code == 204
    pega_error(admin.update(case_id, {"Step": 3}, '"998", "999"'), 412)


@pytest.mark.parametrize("payload, field", [
    ({"content": {"A": 1}, "status": "Resolved"}, "status"),
    ({"content": {"A": 1}, "caseTypeID": "Other-App-Work-Thing"}, "caseTypeID"),
])
def test_unknown_fields_in_the_update_body_are_400(admin: Caller, payload: dict[str, Any],
                                                   field: str) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    tag = etag_of(admin, case_id)
    response = admin.http.put(f"{CASES_PATH}/{case_id}", json=payload,
                              headers=admin.headers(**{"If-Match": tag}))
    assert field in pega_error(response, 400)
    assert etag_of(admin, case_id) == tag


def test_update_without_content_is_400_naming_content(admin: Caller) -> None:
    case_id = created_id(admin.create(SEED_BODY))
    tag = etag_of(admin, case_id)
    for payload in ({}, {"content": ["not", "an", "object"]}):
        response = admin.http.put(f"{CASES_PATH}/{case_id}", json=payload,
                                  headers=admin.headers(**{"If-Match": tag}))
        assert "content" in pega_error(response, 400)


def test_update_of_an_unknown_case_is_404(admin: Caller) -> None:
    pega_error(admin.update("CNOW-CONNECTNOW-WORK REQ-999999", {"A": 1}, '"1"'), 404)
