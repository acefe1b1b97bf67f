"""Remote case types in the case API: the one place that decides a case lives on a producer
casegate, checks this casegate's own privileges, forwards as the calling operator
(remote/client.py) and records the forward. The producer's access model decides the rest."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.access.privileges import CREATE_CASE, GET_CASES, UPDATE_CASE, Grants, require
from casegate.cases import case_types
from casegate.cases.schemas import CreateCase, UpdateCase
from casegate.cases.service import NOT_FOUND
from casegate.crypto import token_id
from casegate.errors import CasegateError, Conflict, Forbidden, NotFound, Unavailable
from casegate.oauth.bearer import Principal
from casegate.remote import systems
from casegate.remote.client import RemoteClient, RemoteFailure, Reply, Target
from casegate.storage.models import Case, CaseType, RemoteSystem

V1 = "/prweb/api/v1/cases"
V2 = "/prweb/api/application/v2/cases"


def target(client: RemoteClient, system: RemoteSystem) -> Target:
    try:
        secret = systems.decrypt_secret(client.settings.hmac_key(), system)
    except CasegateError as exc:
        raise Unavailable(exc.message) from exc
    return Target(system.name, system.url, system.token_endpoint, system.client_id, secret,
                  system.cacert)


def remote_type(session: Session, case_type_id: str) -> CaseType | None:
    case_type = None if "\x00" in case_type_id else session.get(CaseType, case_type_id)
    return case_type if case_type is not None and case_type.remote_system else None


def type_of_case(session: Session, case_id: str) -> CaseType | None:
    """The remote case type a case ID belongs to, by its class group ("CLASS-GROUP ID")."""
    group = case_id.partition(" ")[0].upper()
    for case_type in session.scalars(select(CaseType).where(CaseType.remote_system.is_not(None))
                                     .order_by(CaseType.id)):
        if case_type.class_group.upper() == group:
            return case_type
    return None


def forward_key(principal: Principal, idempotency_key: str | None) -> str:
    """The caller's key made ours (per client and operator), or a new one: retries of this
    request reuse it, so the producer never makes two cases for it."""
    if idempotency_key is None:
        return token_id()
    seed = f"{principal.client_id}\0{principal.operator.id}\0{idempotency_key}"
    return hashlib.sha256(seed.encode()).hexdigest()


def create(client: RemoteClient, session: Session, principal: Principal, access: Grants,
           body: CreateCase, path: str, idempotency_key: str | None) -> Reply | None:
    """None for a local case type; else the producer's answer to the create."""
    case_type = remote_type(session, body.caseTypeID)
    if case_type is None:
        return None
    operator = principal.operator.id
    require(access, operator, principal.group.name, CREATE_CASE, case_type.id)
    system = session.get_one(RemoteSystem, case_type.remote_system)
    reply = client.call(target(client, system), operator, "cases", "POST", path,
                        body=body.model_dump(exclude_none=True), retry_all=True,
                        headers={"Idempotency-Key": forward_key(principal, idempotency_key)})
    case_id = reply.body.get("ID", "") if isinstance(reply.body, dict) else ""
    audit.record(session, "case.forwarded", actor=operator, subject=str(case_id)[:260],
                 client_id=principal.client_id, remote_system=system.name,
                 case_type=case_type.id)
    return reply


def _reachable(session: Session, principal: Principal, access: Grants, case_id: str,
               privilege: str) -> tuple[CaseType, RemoteSystem] | None:
    case_type = type_of_case(session, case_id)
    # a local case type may share the class group: a case stored here is local
    if case_type is None or "\x00" in case_id or session.get(Case, case_id) is not None:
        return None
    if not access.can(privilege, case_type.id):
        if privilege == GET_CASES or not access.can(GET_CASES, case_type.id):
            raise NotFound("case", case_id, NOT_FOUND)
        require(access, principal.operator.id, principal.group.name, privilege, case_type.id)
    return case_type, session.get_one(RemoteSystem, case_type.remote_system)


def read(client: RemoteClient, session: Session, principal: Principal, access: Grants,
         case_id: str, path: str) -> Reply | None:
    found = _reachable(session, principal, access, case_id, GET_CASES)
    if found is None:
        return None
    return client.call(target(client, found[1]), principal.operator.id, "cases", "GET",
                       f"{path}/{quote(case_id, safe='')}", retry_all=True)


def update(client: RemoteClient, session: Session, principal: Principal, access: Grants,
           case_id: str, if_match: str | None, body: UpdateCase) -> Reply | None:
    found = _reachable(session, principal, access, case_id, UPDATE_CASE)
    if found is None:
        return None
    case_type, system = found
    headers = {"If-Match": if_match} if if_match else {}
    # not retried once sent: a PUT that did reach the producer would then fail its If-Match
    reply = client.call(target(client, system), principal.operator.id, "cases", "PUT",
                        f"{V1}/{quote(case_id, safe='')}", body=body.model_dump(),
                        headers=headers)
    audit.record(session, "case.forwarded", actor=principal.operator.id, subject=case_id,
                 client_id=principal.client_id, remote_system=system.name,
                 case_type=case_type.id, action="update")
    return reply


def listing(client: RemoteClient, session: Session, principal: Principal, access: Grants,
            case_type_id: str | None, status: str | None, limit: int
            ) -> tuple[list[dict[str, Any]], int] | None:
    """The producers' cases of the remote types the operator may read (at most `limit` of
    each), and how many there are; None when the operator reads no remote type."""
    query = select(CaseType).where(CaseType.remote_system.is_not(None)).order_by(CaseType.id)
    readable = [t for t in session.scalars(query) if access.can(GET_CASES, t.id)
                and case_type_id in (None, t.id)]
    if not readable:
        return None
    found: list[dict[str, Any]] = []
    total = 0
    for case_type in readable:
        params = f"?caseTypeID={quote(case_type.id)}&pageSize={min(limit, 500)}" + (
            f"&status={quote(status)}" if status else "")
        system = session.get_one(RemoteSystem, case_type.remote_system)
        try:
            reply = client.call(target(client, system), principal.operator.id, "cases", "GET",
                                V1 + params, retry_all=True)
        except Forbidden:  # the producer gives the operator no token
            continue
        except RemoteFailure as exc:
            if exc.status not in (403, 404):  # the producer lets the operator read none there
                raise
            continue
        page = reply.body if isinstance(reply.body, dict) else {}
        found.extend(c for c in page.get("cases", []) if isinstance(c, dict))
        total += int(page.get("total", 0))
    return found, total


# -- casetype import --remote -------------------------------------------------------------
def offered_case_types(client: RemoteClient, system: RemoteSystem,
                       operator_id: str) -> list[dict[str, Any]]:
    """The case types the operator may create on the producer (its GET /casetypes)."""
    reply = client.call(target(client, system), operator_id, "casetypes", "GET",
                        "/prweb/api/v1/casetypes", retry_all=True)
    listed = reply.body.get("caseTypes", []) if isinstance(reply.body, dict) else []
    return [t for t in listed if isinstance(t, dict) and isinstance(t.get("ID"), str)
            and t.get("CanCreate", True)]


def import_case_types(session: Session, system: RemoteSystem, offered: list[dict[str, Any]],
                      actor: str = "") -> list[CaseType]:
    """Register producer classes here as remote case types (again: unchanged)."""
    imported = []
    for entry in offered:
        class_name = str(entry["ID"])
        existing = session.get(CaseType, class_name)
        if existing is not None:
            if existing.remote_system != system.name:
                raise Conflict(f"case type {class_name!r} already exists here"
                               + (f" (remote system {existing.remote_system})"
                                  if existing.remote_system else ""))
            imported.append(existing)
            continue
        processes = [str(p["ID"]) for p in entry.get("startingProcesses", [])
                     if isinstance(p, dict) and isinstance(p.get("ID"), str)]
        # the prefix numbers local cases only; a remote case's ID comes from the producer
        case_type = case_types.create(session, class_name, "REMOTE",
                                      name=str(entry.get("name") or ""),
                                      processes=processes or None, actor=actor)
        case_type.remote_system = system.name
        session.flush()
        audit.record(session, "casetype.imported", actor=actor, subject=class_name,
                     remote_system=system.name)
        imported.append(case_type)
    return imported
