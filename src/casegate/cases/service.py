"""Cases: create, read, list and update, as the token's operator may; IDs per case type."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from casegate import audit
from casegate.access.privileges import (
    CREATE_CASE,
    GET_CASES,
    UPDATE_CASE,
    Grants,
    require,
)
from casegate.cases import case_types
from casegate.cases.schemas import CreateCase, UpdateCase
from casegate.errors import Forbidden, Invalid, NotFound, Stale, VersionRequired
from casegate.oauth.bearer import Principal
from casegate.storage.models import Case, CaseType

OBJ_CLASS = "Pega-API-CaseManagement-Case"
CASE_TABLE = cast(Table, Case.__table__)
CASE_COLUMNS = tuple(column.name for column in CASE_TABLE.columns)
INSERT_CASE = insert(CASE_TABLE)
TYPES_TABLE = cast(Table, CaseType.__table__)
NEXT_NUMBER = (update(TYPES_TABLE).where(TYPES_TABLE.c.id == bindparam("type_id"))
               .values(next_number=TYPES_TABLE.c.next_number + 1)
               .returning(TYPES_TABLE.c.next_number))
NOT_FOUND = "no such case"  # also for a case the operator may not see: no existence oracle


def next_business_id(session: Session, case_type: CaseType) -> str:
    # one atomic UPDATE … RETURNING: the row lock (PostgreSQL) or the write lock (SQLite)
    # gives concurrent creations distinct, increasing numbers; a number is never reused.
    # Core, on the session's connection: the ORM's bulk UPDATE cost ~5x more (profiled)
    number = session.connection().execute(NEXT_NUMBER, {"type_id": case_type.id}).scalar_one() - 1
    return f"{case_type.prefix}-{number}"


def _check_content(case_type: CaseType, content: dict[str, Any]) -> None:
    problem = case_types.content_error(case_type, content)
    if problem is not None:
        raise Invalid("", problem)


def create(session: Session, principal: Principal, grants: Grants, body: CreateCase) -> Case:
    case_type = session.get(CaseType, body.caseTypeID)
    if case_type is None:
        raise Invalid("caseTypeID", f"unknown case type {body.caseTypeID[:200]}")
    if case_type.remote_system is not None:  # cases/remote.py forwards these first
        raise Invalid("caseTypeID", f"{case_type.id} lives on remote system "
                                    f"{case_type.remote_system}")
    require(grants, principal.operator.id, principal.group.name, CREATE_CASE, case_type.id)
    if body.processID not in case_type.processes:
        raise Invalid("processID", f"{body.processID[:200]} cannot start {case_type.id}")
    if body.parentCaseID is not None:
        visible(session, principal, grants, body.parentCaseID, GET_CASES,
                missing="parentCaseID: no such case")
    _check_content(case_type, body.content)
    business_id = next_business_id(session, case_type)
    operator = principal.operator.id
    at = time.time()
    case = Case(
        id=f"{case_type.class_group.upper()} {business_id}", case_type=case_type.id,
        business_id=business_id, content=body.content, parent_id=body.parentCaseID,
        created_by=operator, created_via=principal.client_id, updated_by=operator,
        status="New", version=1, created_at=at, updated_at=at,
    )
    # written with Core on the session's connection (same transaction), every column given:
    # the ORM's unit of work for these two rows cost more than the rest of the request
    conn = session.connection()
    conn.execute(INSERT_CASE, {column: getattr(case, column) for column in CASE_COLUMNS})
    conn.execute(audit.INSERT, audit.row("case.created", actor=operator, subject=case.id,
                                         client_id=principal.client_id))
    return case


def visible(session: Session, principal: Principal, grants: Grants, case_id: str,
            privilege: str, missing: str = NOT_FOUND) -> Case:
    """The case, if the operator may reach it with the privilege; else NotFound (never
    Forbidden), or Invalid with `missing` when the case is named by another field."""
    # no stored ID holds NUL, and PostgreSQL refuses it in a query
    case = None if "\x00" in case_id else session.get(Case, case_id)
    if (case is None or not grants.can(privilege, case.case_type)
            or not (grants.reads_all(privilege, case.case_type)
                    or case.created_by == principal.operator.id)):
        if missing == NOT_FOUND:
            raise NotFound("case", case_id, NOT_FOUND)
        raise Invalid("", missing)
    return case


def readable_filter(session: Session, principal: Principal, grants: Grants) -> ColumnElement[bool]:
    """Which cases pxGetCases reaches: every case of some types, the operator's own of others."""
    all_of: list[str] = []
    own_of: list[str] = []
    for case_type in session.scalars(select(CaseType.id)):
        if grants.can(GET_CASES, case_type):
            (all_of if grants.reads_all(GET_CASES, case_type) else own_of).append(case_type)
    clauses: list[ColumnElement[bool]] = [Case.case_type.in_(all_of)] if all_of else []
    if own_of:
        clauses.append(and_(Case.case_type.in_(own_of),
                            Case.created_by == principal.operator.id))
    return or_(*clauses) if clauses else false()


def list_cases(session: Session, principal: Principal, grants: Grants,
               case_type: str | None, status: str | None, page: int,
               page_size: int) -> tuple[list[Case], int]:
    query = select(Case).where(readable_filter(session, principal, grants))
    if case_type:
        query = query.where(Case.case_type == case_type)
    if status:
        query = query.where(Case.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Case.created_at.desc(), Case.id.desc())
                           .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


def updatable(session: Session, principal: Principal, grants: Grants, case_id: str) -> Case:
    """The case, if the operator may update it; Forbidden if it may only see it, else
    NotFound."""
    try:
        return visible(session, principal, grants, case_id, UPDATE_CASE)
    except NotFound:
        # a case the operator can read anyway: its existence is no secret, the missing
        # privilege is what the caller must be told (issue 3: 403 with a clear message)
        case = visible(session, principal, grants, case_id, GET_CASES)
    require(grants, principal.operator.id, principal.group.name, UPDATE_CASE, case.case_type)
    raise Forbidden(f"operator {principal.operator.id} holds the privilege {UPDATE_CASE} "
                    f"on {case.case_type} for its own cases only "
                    f"(access group {principal.group.name})")


def update_case(session: Session, principal: Principal, grants: Grants, case_id: str,
                if_match: str | None, body: UpdateCase) -> Case:
    case = updatable(session, principal, grants, case_id)
    if not if_match:
        raise VersionRequired("send If-Match with the case's ETag to update it")
    if not if_match_allows(if_match, etag(case)):
        raise Stale("the case has changed since its ETag was read")
    content = {**case.content, **body.content}
    _check_content(session.get_one(CaseType, case.case_type), content)
    # the version in the WHERE makes a concurrent update lose cleanly instead of overwriting
    changed = session.execute(
        update(Case).where(Case.id == case.id, Case.version == case.version)
        .values(content=content, version=case.version + 1, updated_by=principal.operator.id,
                updated_at=time.time())
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise Stale("the case has changed since its ETag was read")
    audit.record(session, "case.updated", actor=principal.operator.id, subject=case.id,
                 client_id=principal.client_id, version=case.version + 1)
    session.refresh(case)
    return case


def if_match_allows(header: str, current: str) -> bool:
    """RFC 9110 §13.1.1: "*" or a list of entity tags, compared strongly (W/ never matches)."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or current in tags


def etag(case: Case) -> str:
    return f'"{case.version}"'


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def created_answer(case: Case) -> dict[str, Any]:
    return {
        "ID": case.id,
        "nextAssignmentID": f"ASSIGN-WORKLIST {case.id}!STARTCASE_FLOW",
        "nextPageID": "Perform",
        "pxObjClass": OBJ_CLASS,
    }


def summary(case: Case) -> dict[str, Any]:
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
    }


def case_answer(case: Case) -> dict[str, Any]:
    return {**summary(case), "content": case.content, "pxObjClass": OBJ_CLASS}


def case_info(case: Case, case_type: CaseType) -> dict[str, Any]:
    """DX API v2's data.caseInfo."""
    return {**summary(case), "caseTypeName": case_type.name, "owner": case.created_by,
            "urgency": "10", "stageLabel": "Create", "content": case.content}
