"""Pega API v1: /prweb/api/v1/cases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from casegate.access.privileges import CREATE_CASE, GET_CASES, authorize
from casegate.cases import service
from casegate.cases.schemas import CreateCase
from casegate.storage.db import transaction
from casegate.web.deps import CurrentPrincipal, CurrentRuntime

router = APIRouter(prefix="/prweb/api/v1", tags=["Pega API v1"])


@router.post("/cases", status_code=201, summary="Create a case")
def create_case(body: CreateCase, principal: CurrentPrincipal, rt: CurrentRuntime) -> JSONResponse:
    authorize(principal, CREATE_CASE)
    with transaction(rt.factory) as session:
        case = service.create(session, principal, body)
        answer: dict[str, Any] = service.created_answer(case)
        tag = service.etag(case)
    return JSONResponse(answer, status_code=201, headers={"ETag": tag})


@router.get("/cases/{case_id}", summary="Get a case")
def get_case(case_id: str, principal: CurrentPrincipal, rt: CurrentRuntime) -> JSONResponse:
    authorize(principal, GET_CASES)
    with rt.factory() as session:
        case = service.get(session, case_id)
        return JSONResponse(service.case_answer(case), headers={"ETag": service.etag(case)})
