"""`/userinfo` (OpenID Connect Core §5.3): who the access token's person is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from casegate.oauth import bearer, metadata
from casegate.web import openapi
from casegate.web.browser import runtime
from casegate.web.deps import BearerRefused, bearer_token, challenge
from casegate.web.runtime import Runtime

router = APIRouter(tags=["OpenID Connect"])


def _bearer_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers=challenge(error, description) | {"Cache-Control": "no-store"})


@router.get(metadata.USERINFO, summary="UserInfo", responses=openapi.USERINFO,
            openapi_extra=openapi.BEARER)
@router.post(metadata.USERINFO, summary="UserInfo", responses=openapi.USERINFO,
             openapi_extra=openapi.BEARER)
async def userinfo(request: Request) -> Response:
    """OpenID Connect Core §5.3: who the access token's person is."""
    rt = runtime(request)
    try:
        token = bearer_token(request)
    except BearerRefused as exc:  # the same refusals as the case API, in RFC 6750's shape
        return JSONResponse({"error": exc.error or "invalid_request",
                             "error_description": exc.description}, status_code=exc.status,
                            headers=exc.headers | {"Cache-Control": "no-store"})
    return await run_in_threadpool(_userinfo, rt, token)


def _userinfo(rt: Runtime, token: str) -> Response:
    settings = rt.settings
    try:
        with rt.factory() as session:
            principal = bearer.authenticate(session, rt.keys, settings.base_url,
                                            settings.api_audience, token, settings.clock_skew)
    except bearer.InvalidToken:
        return _bearer_error(401, "invalid_token", "the access token is invalid")
    if "openid" not in principal.scope:
        return _bearer_error(403, "insufficient_scope", "the openid scope is needed")
    claims: dict[str, Any] = {"sub": principal.operator.id}
    if "profile" in principal.scope:
        claims["name"] = principal.operator.name
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})
