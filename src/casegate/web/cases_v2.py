"""DX API v2: /prweb/api/application/v2/cases, answering data.caseInfo with an ETag."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from casegate.access.privileges import GET_CASES, grants
from casegate.cases import idempotency, remote, service
from casegate.cases.schemas import CreateCase
from casegate.storage.db import transaction
from casegate.storage.models import CaseType
from casegate.web import openapi
from casegate.web.cases_v1 import IdempotencyKey, reply_response
from casegate.web.deps import CasesPrincipal, CurrentRuntime

router = APIRouter(prefix="/prweb/api/application/v2", tags=["DX API v2"])


@router.post("/cases", status_code=201, summary="Create a case (pxCreateCase)",
             responses=openapi.CREATE_CASE_V2)
def create_case(body: CreateCase, principal: CasesPrincipal, rt: CurrentRuntime,
                idempotency_key: IdempotencyKey = None) -> Response:
    key = idempotency.check_key(idempotency_key)
    with transaction(rt.factory) as session:
        reply = remote.create(rt.remote, session, principal, grants(session, principal.group),
                              body, remote.V2, idempotency_key)
    if reply is not None:
        return reply_response(reply, 201)
    case = idempotency.create_once(rt.factory, principal, body, key)
    with rt.factory() as session:
        info = service.case_info(case, session.get_one(CaseType, case.case_type))
    answer: dict[str, Any] = {
        "ID": case.id,
        "nextAssignmentInfo": {"ID": f"ASSIGN-WORKLIST {case.id}!STARTCASE_FLOW",
                               "className": case.case_type},
        "data": {"caseInfo": info},
    }
    return JSONResponse(answer, status_code=201, headers={"ETag": service.etag(case)})


@router.get("/cases/{case_id}", summary="Get a case (pxGetCases)", responses=openapi.GET_CASE_V2)
def get_case(case_id: str, principal: CasesPrincipal, rt: CurrentRuntime) -> Response:
    with rt.factory() as session:
        access = grants(session, principal.group)
        reply = remote.read(rt.remote, session, principal, access, case_id, remote.V2)
        if reply is not None:
            return reply_response(reply)
        case = service.visible(session, principal, access, case_id, GET_CASES)
        info = service.case_info(case, session.get_one(CaseType, case.case_type))
        return JSONResponse({"data": {"caseInfo": info}}, headers={"ETag": service.etag(case)})
