"""Pega API v1: /prweb/api/v1/cases and /casetypes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from casegate.access.privileges import CREATE_CASE, GET_CASE_TYPES, GET_CASES, grants, require
from casegate.cases import case_types, idempotency, remote, service
from casegate.cases.schemas import CreateCase, UpdateCase
from casegate.remote.client import Reply
from casegate.storage.db import transaction
from casegate.web import openapi
from casegate.web.deps import CasesPrincipal, CaseTypesPrincipal, CurrentRuntime

router = APIRouter(prefix="/prweb/api/v1", tags=["Pega API v1"])


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", description="A repeat with the same key (same client and "
    "operator, within 24 h) answers the case the first request made")]


def reply_response(reply: Reply, status: int | None = None) -> Response:
    """A remote case type's answer, as the producer gave it."""
    headers = {"ETag": reply.etag} if reply.etag else None
    if reply.body is None:
        return Response(status_code=status or reply.status, headers=headers)
    return JSONResponse(reply.body, status_code=status or reply.status, headers=headers)


@router.post("/cases", status_code=201, summary="Create a case (pxCreateCase)",
             responses=openapi.CREATE_CASE)
def create_case(body: CreateCase, principal: CasesPrincipal, rt: CurrentRuntime,
                idempotency_key: IdempotencyKey = None) -> Response:
    key = idempotency.check_key(idempotency_key)
    with transaction(rt.factory) as session:
        reply = remote.create(rt.remote, session, principal, grants(session, principal.group),
                              body, remote.V1, idempotency_key)
    if reply is not None:
        return reply_response(reply, 201)
    case = idempotency.create_once(rt.factory, principal, body, key)
    return JSONResponse(service.created_answer(case), status_code=201,
                        headers={"ETag": service.etag(case)})


@router.get("/cases", summary="List the cases the operator may see (pxGetCases)",
            responses=openapi.LIST_CASES)
def list_cases(
    principal: CasesPrincipal, rt: CurrentRuntime,
    caseTypeID: Annotated[str | None, Query(max_length=200)] = None,  # noqa: N803 (Pega's name)
    status: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    pageSize: Annotated[int, Query(ge=1, le=500)] = 50,  # noqa: N803 (Pega's name)
) -> JSONResponse:
    with rt.factory() as session:
        access = grants(session, principal.group)
        require(access, principal.operator.id, principal.group.name, GET_CASES)
        elsewhere = remote.listing(rt.remote, session, principal, access, caseTypeID, status,
                                   page * pageSize)
        # with remote cases, the first page * pageSize of each side are merged by time
        first, size = (1, page * pageSize) if elsewhere else (page, pageSize)
        rows, total = service.list_cases(session, principal, access, caseTypeID, status,
                                         first, size)
        cases = [service.summary(case) for case in rows]
    if elsewhere:
        merged = sorted(cases + elsewhere[0], key=lambda c: str(c.get("createTime", "")),
                        reverse=True)
        cases, total = merged[(page - 1) * pageSize:page * pageSize], total + elsewhere[1]
    return JSONResponse({"cases": cases, "page": page, "pageSize": pageSize, "total": total,
                         "hasMore": page * pageSize < total})


@router.get("/cases/{case_id}", summary="Get a case (pxGetCases)", responses=openapi.GET_CASE)
def get_case(case_id: str, principal: CasesPrincipal, rt: CurrentRuntime) -> Response:
    with rt.factory() as session:
        access = grants(session, principal.group)
        reply = remote.read(rt.remote, session, principal, access, case_id, remote.V1)
        if reply is not None:
            return reply_response(reply)
        case = service.visible(session, principal, access, case_id, GET_CASES)
        return JSONResponse(service.case_answer(case), headers={"ETag": service.etag(case)})


@router.put("/cases/{case_id}", status_code=204, summary="Update a case (pxUpdateCase)",
            responses=openapi.UPDATE_CASE)
def update_case(case_id: str, body: UpdateCase, principal: CasesPrincipal,
                rt: CurrentRuntime,
                if_match: Annotated[str | None, Header(max_length=64)] = None) -> Response:
    with transaction(rt.factory) as session:
        access = grants(session, principal.group)
        reply = remote.update(rt.remote, session, principal, access, case_id, if_match, body)
        if reply is not None:
            return reply_response(reply, 204)
        case = service.update_case(session, principal, access, case_id, if_match, body)
        tag = service.etag(case)
    return Response(status_code=204, headers={"ETag": tag})


@router.get("/casetypes", summary="The case types the operator may create (pxGetCaseTypes)",
            responses=openapi.CASE_TYPES)
def list_case_types(principal: CaseTypesPrincipal, rt: CurrentRuntime) -> JSONResponse:
    with rt.factory() as session:
        access = grants(session, principal.group)
        require(access, principal.operator.id, principal.group.name, GET_CASE_TYPES)
        listed = [{"ID": ct.id, "name": ct.name, "CanCreate": True,
                   "startingProcesses": [{"ID": p, "name": p, "requiresFieldsToCreate": False}
                                         for p in ct.processes]}
                  for ct in case_types.list_all(session) if access.can(CREATE_CASE, ct.id)]
    return JSONResponse({"caseTypes": listed})
