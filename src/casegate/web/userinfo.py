"""`/userinfo` (OpenID Connect Core §5.3): who the access token's person is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from casegate.oauth import metadata
from casegate.web import openapi
from casegate.web.deps import NO_STORE, OpenIDPrincipal

router = APIRouter(tags=["OpenID Connect"])


@router.get(metadata.USERINFO, summary="UserInfo", responses=openapi.USERINFO)
@router.post(metadata.USERINFO, summary="UserInfo", responses=openapi.USERINFO)
def userinfo(principal: OpenIDPrincipal) -> JSONResponse:
    """OpenID Connect Core §5.3: who the access token's person is. The token is read, checked
    and refused (§5.3.3: RFC 6750's errors, app.py's shape for them) as the case API's."""
    claims: dict[str, Any] = {"sub": principal.operator.id}
    if "profile" in principal.scope:
        claims["name"] = principal.operator.name
    return JSONResponse(claims, headers=NO_STORE)
