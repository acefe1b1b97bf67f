"""`GET, POST /prweb/api/oauth2/v1/token/denylist`: the deny list for administrators' tokens.

The token needs the casegate:admin scope (checked before the body is read) and an operator
holding the administrator privilege (access.privileges.is_administrator, as the console);
anything else is 403 in Pega's envelope.
An entry fails at the very next request on every process (bearer.check_live reads it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from casegate.access.privileges import require_administrator
from casegate.audit import ACTOR
from casegate.oauth import denylist
from casegate.storage.db import transaction
from casegate.web import openapi
from casegate.web.deps import AdminPrincipal, CurrentRuntime

PATH = "/prweb/api/oauth2/v1/token/denylist"
router = APIRouter(tags=["Deny list"])


class Suspicious(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=4096, description="an access token, or only its jti")
    reason: str = Field(min_length=1, max_length=denylist.MAX_REASON,
                        description="why it is denied")


def _administrator(principal: AdminPrincipal, rt: CurrentRuntime) -> None:
    with rt.factory() as session:
        require_administrator(session, principal.operator)


@router.get(PATH, summary="The deny list (administrators)", responses=openapi.DENY_LIST)
def list_denied(principal: AdminPrincipal, rt: CurrentRuntime) -> JSONResponse:
    _administrator(principal, rt)
    with rt.factory() as session:
        rows = [denylist.describe(row, by) for row, by in denylist.listed(session)]
    return JSONResponse({"tokens": rows}, headers={"Cache-Control": "no-store"})


@router.post(PATH, status_code=201, summary="Deny a suspicious token (administrators)",
             responses=openapi.DENY_TOKEN)
def add_denied(body: Suspicious, principal: AdminPrincipal,
               rt: CurrentRuntime) -> JSONResponse:
    _administrator(principal, rt)
    with transaction(rt.factory) as session:
        session.info[ACTOR] = principal.operator.id
        row = denylist.add_suspicious(session, rt.keys, body.token, body.reason)
        answer: dict[str, Any] = denylist.describe(row, principal.operator.id)
    return JSONResponse(answer, status_code=201, headers={"Cache-Control": "no-store"})
