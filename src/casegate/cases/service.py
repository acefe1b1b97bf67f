"""Cases: create, read, list and update, as the token's operator may; IDs per case type."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
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
from casegate.storage.db import Reads, read_rows
from casegate.storage.group_commit import OneStatement
from casegate.storage.models import AuditEvent, Case, CaseType
from casegate.storage.pg_copy import execute, record_columns
from casegate.storage.versions import Kept

OBJ_CLASS = "Pega-API-CaseManagement-Case"
CASE_TABLE = cast(Table, Case.__table__)
CASE_COLUMNS = tuple(column.name for column in CASE_TABLE.columns)
INSERT_CASE = insert(CASE_TABLE)
TYPES_TABLE = cast(Table, CaseType.__table__)
AUDIT_TABLE = cast(Table, AuditEvent.__table__)
NOT_FOUND = "no such case"  # also for a case the operator may not see: no existence oracle


CASE_TYPE = select(TYPES_TABLE.c.id, TYPES_TABLE.c.prefix, TYPES_TABLE.c.class_group,
                   TYPES_TABLE.c.processes, TYPES_TABLE.c.json_schema,
                   TYPES_TABLE.c.remote_system).where(TYPES_TABLE.c.id == bindparam("id"))


class CaseTypeRow(NamedTuple):
    """CASE_TYPE's columns, in its order."""

    id: str
    prefix: str
    class_group: str
    processes: list[str]
    json_schema: dict[str, Any] | None
    remote_system: str | None


# one atomic UPDATE … RETURNING for all the cases of a type written together: the row lock
# (PostgreSQL) or the write lock (SQLite) gives concurrent creations distinct, increasing
# numbers; a number is never reused. Core: the ORM's bulk UPDATE cost ~5x more (profiled)
NEXT_NUMBERS = (update(TYPES_TABLE).where(TYPES_TABLE.c.id == bindparam("type_id"))
                .values(next_number=TYPES_TABLE.c.next_number + bindparam("count"))
                .returning(TYPES_TABLE.c.next_number))


def _check_content(json_schema: dict[str, Any] | None, content: dict[str, Any]) -> None:
    problem = case_types.content_error(json_schema, content)
    if problem is not None:
        raise Invalid("", problem)


@dataclass(frozen=True)
class NewCase:
    """A creation that passed every check, not yet numbered nor written (write_cases)."""

    case_type: str
    prefix: str
    class_group: str
    content: dict[str, Any]
    parent_id: str | None
    operator: str
    client_id: str
    at: float
    audit: dict[str, Any]  # the case.created event, but for its subject (the case's ID)


def check_create(source: Reads, principal: Principal, grants: Grants, body: CreateCase
                 ) -> NewCase:
    """Every check of a creation, reading only (plain rows, no ORM entities; a parent case
    is read through the request's session)."""
    case_type = _CASE_TYPES.get(principal.access_version, body.caseTypeID,
                                lambda: _case_type(source, body.caseTypeID))
    if case_type is None:
        raise Invalid("caseTypeID", f"unknown case type {body.caseTypeID[:200]}")
    if case_type.remote_system is not None:  # cases/remote.py forwards these first
        raise Invalid("caseTypeID", f"{case_type.id} lives on remote system "
                                    f"{case_type.remote_system}")
    require(grants, principal.operator.id, principal.group.name, CREATE_CASE, case_type.id)
    if body.processID not in case_type.processes:
        raise Invalid("processID", f"{body.processID[:200]} cannot start {case_type.id}")
    if body.parentCaseID is not None:
        if not isinstance(source, Session):
            raise TypeError("a parent case is read through the request's session")
        visible(source, principal, grants, body.parentCaseID, GET_CASES,
                missing="parentCaseID: no such case")
    _check_content(case_type.json_schema, body.content)
    operator = principal.operator.id
    return NewCase(case_type.id, case_type.prefix, case_type.class_group, body.content,
                   body.parentCaseID, operator, principal.client_id, time.time(),
                   audit.row("case.created", actor=operator, client_id=principal.client_id))


def id_heads(class_group: str, prefix: str) -> tuple[str, str]:
    """A case's ID and business ID but for its number, which follows each: "CLASS-GROUP
    PREFIX-" and "PREFIX-"."""
    return f"{class_group.upper()} {prefix}-", f"{prefix}-"


# each process's case types, for one access version (storage/versions.py; not their
# next_number, which no trigger follows): a change is seen at the next request
_CASE_TYPES: Kept[str, CaseTypeRow | None] = Kept()


def _case_type(source: Reads, type_id: str) -> CaseTypeRow | None:
    found = read_rows(source, CASE_TYPE, {"id": type_id})
    return CaseTypeRow._make(found[0]) if found else None


def write_cases(conn: Connection, new: Sequence[NewCase]) -> list[Case]:
    """Number and insert checked cases with their audit events, in order, in the caller's
    transaction. PostgreSQL: one statement per case type (number, cases and events), so that
    on an autocommit connection the counter's row lock is held for that statement only, no
    round trip; SQLite: one UPDATE per case type, one INSERT for the cases, one for the
    events."""
    if conn.dialect.name == "postgresql":
        written: dict[int, tuple[str, str]] = {}
        for type_id in dict.fromkeys(n.case_type for n in new):
            indexes = [i for i, n in enumerate(new) if n.case_type == type_id]
            ids = _numbered_insert(conn, [new[i] for i in indexes])
            written.update(zip(indexes, ids, strict=True))
        return [_case(n, *written[i]) for i, n in enumerate(new)]
    numbers: dict[str, Iterator[int]] = {}
    for type_id, count in Counter(n.case_type for n in new).items():
        last = conn.execute(NEXT_NUMBERS, {"type_id": type_id, "count": count}).scalar_one()
        numbers[type_id] = iter(range(last - count, last))
    cases = []
    for n in new:
        number = next(numbers[n.case_type])
        id_head, business_head = id_heads(n.class_group, n.prefix)
        cases.append(_case(n, f"{id_head}{number}", f"{business_head}{number}"))
    # Core, every column given: the ORM's unit of work for these rows cost more than the
    # rest of the request
    conn.execute(INSERT_CASE, [{column: getattr(case, column) for column in CASE_COLUMNS}
                               for case in cases])
    conn.execute(audit.INSERT, [{**n.audit, "subject": case.id}
                                for n, case in zip(new, cases, strict=True)])
    return cases


# for the group-commit writer: one statement per case type on PostgreSQL, its own transaction
WRITE_CASES = OneStatement(write_cases, key=lambda n: n.case_type)


def _case(n: NewCase, case_id: str, business_id: str) -> Case:
    return Case(id=case_id, case_type=n.case_type, business_id=business_id,
                content=n.content, parent_id=n.parent_id, created_by=n.operator,
                created_via=n.client_id, updated_by=n.operator, status="New", version=1,
                created_at=n.at, updated_at=n.at)


# The cases of one type numbered, inserted with their events (in order), by one statement:
# the counter's UPDATE … RETURNING gives the first number, each case's is that plus its
# place in the list of rows; the IDs are the heads (id_heads) and the number. The rows are
# one JSON text (json.dumps in C: psycopg's dumping of one array per column, element by
# element in Python, was most of the writer's CPU); their JSON values (content, detail) as
# their own JSON text (pg_copy.record_columns says why), so stored as json.dumps writes
# them, as SQLAlchemy does
_NUMBERED = """WITH counter AS (
  UPDATE case_types SET next_number = next_number + %(count)s WHERE id = %(case_type)s
  RETURNING next_number - %(count)s AS first),
new AS (
  SELECT counter.first + r.n - 1 AS number, r.*
  FROM counter, ROWS FROM (json_to_recordset(%(rows)s::json) AS ({columns}))
       WITH ORDINALITY AS r({names}, n)),
cases_in AS (
  INSERT INTO cases (id, case_type, business_id, status, content, parent_id, created_by,
                     created_via, updated_by, version, created_at, updated_at)
  SELECT id_head || number, %(case_type)s, business_head || number, 'New', content::json,
         parent_id, created_by, created_via, created_by, 1, created_at, created_at
  FROM new ORDER BY n),
events_in AS (
  INSERT INTO audit_events (at, event, actor, subject, outcome, detail, request_id)
  SELECT audit_at, audit_event, audit_actor, id_head || number, audit_outcome,
         audit_detail::json,
         audit_request_id
  FROM new ORDER BY n)
SELECT id_head || number, business_head || number FROM new ORDER BY n"""
# (field, its column's table and name): the fields' types are their columns'
_FIELDS = (("id_head", CASE_TABLE, "id"), ("business_head", CASE_TABLE, "business_id"),
           ("content", CASE_TABLE, "content"), ("parent_id", CASE_TABLE, "parent_id"),
           ("created_by", CASE_TABLE, "created_by"),
           ("created_via", CASE_TABLE, "created_via"), ("created_at", CASE_TABLE, "created_at"),
           *((f"audit_{name}", AUDIT_TABLE, name) for name in audit.COLUMNS
             if name != "subject"))
# every column of both tables is written (a model's Python-side default would not apply)
assert set(CASE_COLUMNS) == {"id", "case_type", "business_id", "status", "content",
                             "parent_id", "created_by", "created_via", "updated_by", "version",
                             "created_at", "updated_at"}
assert set(audit.COLUMNS) == {"at", "event", "actor", "subject", "outcome", "detail",
                              "request_id"}


@lru_cache(maxsize=2)
def _numbered_text(dialect: Dialect) -> str:
    # (constants only: the fields' names and their columns' types)
    return _NUMBERED.format(columns=record_columns(dialect, _FIELDS),
                            names=", ".join(name for name, _, _ in _FIELDS))


def _numbered_insert(conn: Connection, new: Sequence[NewCase]) -> list[tuple[str, str]]:
    """The (ID, business ID) of each case of one type, written by one statement."""
    rows = []
    for n in new:
        id_head, business_head = id_heads(n.class_group, n.prefix)
        row = {"id_head": id_head, "business_head": business_head,
               "content": json.dumps(n.content),
               "parent_id": n.parent_id, "created_by": n.operator,
               "created_via": n.client_id, "created_at": n.at}
        for name in audit.COLUMNS:
            if name != "subject":
                value = n.audit[name]
                row[f"audit_{name}"] = json.dumps(value) if name == "detail" else value
        rows.append(row)
    params = {"count": len(new), "case_type": new[0].case_type, "rows": json.dumps(rows)}
    ids = execute(conn, _numbered_text(conn.dialect), params)
    if len(ids) != len(new):  # the case type is gone: nothing was written
        raise NotFound("case type", new[0].case_type)
    return [(case_id, business_id) for case_id, business_id in ids]


def create(session: Session, principal: Principal, grants: Grants, body: CreateCase) -> Case:
    return write_cases(session.connection(), [check_create(session, principal, grants, body)])[0]


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
    _check_content(session.get_one(CaseType, case.case_type).json_schema, content)
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
