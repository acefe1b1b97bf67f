"""Cases: create and read; business IDs from a per-case-type sequence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from casegate import audit
from casegate.cases.errors import ApiError
from casegate.cases.schemas import CreateCase
from casegate.oauth.bearer import Principal
from casegate.storage.models import Case, CaseType

OBJ_CLASS = "Pega-API-CaseManagement-Case"


def next_business_id(session: Session, case_type: CaseType) -> str:
    # one atomic UPDATE … RETURNING: the row lock (PostgreSQL) or the write lock (SQLite)
    # makes concurrent creations take distinct numbers, never reused after a rollback's commit
    number = session.execute(
        update(CaseType)
        .where(CaseType.id == case_type.id)
        .values(next_number=CaseType.next_number + 1)
        .returning(CaseType.next_number)
    ).scalar_one() - 1
    return f"{case_type.prefix}-{number}"


def create(session: Session, principal: Principal, body: CreateCase) -> Case:
    case_type = session.get(CaseType, body.caseTypeID)
    if case_type is None:
        raise ApiError(400, f"unknown case type {body.caseTypeID[:200]}")
    if body.processID not in case_type.processes:
        raise ApiError(400, f"process {body.processID[:200]} cannot start {case_type.id}")
    if body.parentCaseID is not None and session.get(Case, body.parentCaseID) is None:
        raise ApiError(400, "parentCaseID names no case")
    business_id = next_business_id(session, case_type)
    operator = principal.operator.id
    case = Case(
        id=f"{case_type.class_group.upper()} {business_id}", case_type=case_type.id,
        business_id=business_id, content=body.content, parent_id=body.parentCaseID,
        created_by=operator, created_via=principal.client_id, updated_by=operator,
    )
    session.add(case)
    session.flush()  # fills the defaults (version) the answer's ETag needs
    audit.record(session, "case.created", actor=operator, subject=case.id,
                 client_id=principal.client_id)
    return case


def get(session: Session, case_id: str) -> Case:
    # no stored ID holds NUL, and PostgreSQL refuses it in a query
    case = None if "\x00" in case_id else session.get(Case, case_id)
    if case is None:
        raise ApiError(404, "no such case")
    return case


def created_answer(case: Case) -> dict[str, Any]:
    return {
        "ID": case.id,
        "nextAssignmentID": f"ASSIGN-WORKLIST {case.id}!STARTCASE_FLOW",
        "nextPageID": "Perform",
        "pxObjClass": OBJ_CLASS,
    }


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def case_answer(case: Case) -> dict[str, Any]:
    return {
        "ID": case.id,
        "caseTypeID": case.case_type,
        "businessID": case.business_id,
        "status": case.status,
        "parentCaseID": case.parent_id,
        "createTime": _iso(case.created_at),
        "createdBy": case.created_by,
        "lastUpdateTime": _iso(case.updated_at),
        "lastUpdatedBy": case.updated_by,
        "content": case.content,
        "pxObjClass": OBJ_CLASS,
    }


def etag(case: Case) -> str:
    return f'"{case.version}"'
