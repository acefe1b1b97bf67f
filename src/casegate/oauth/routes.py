"""The OAuth endpoints, kept thin: read the form, run the server in the threadpool, answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from casegate.oauth import metadata
from casegate.oauth.client_auth import credentials
from casegate.oauth.errors import (
    NO_STORE,
    OAuth2Error,
    error_response,
    oauth_error,
    too_many_failures,
)
from casegate.oauth.grants import GRANTS
from casegate.oauth.requests import FormRequest, read_form
from casegate.oauth.server import AuthorizationServer
from casegate.storage.models import AccessGroup

router = APIRouter(include_in_schema=False)


def _server(request: Request) -> AuthorizationServer:
    server: AuthorizationServer = request.app.state.runtime.server
    return server


async def _form(request: Request) -> FormRequest:
    return await read_form(request)


async def _refused(request: Request, exc: OAuth2Error, event: str,
                   form: FormRequest | None) -> Response:
    server = _server(request)
    client_id = claimed_client_id(form)
    server.audit.add(event, outcome="refused", error=exc.error, subject=client_id,
                     detail=str(exc.description or "")[:200])
    if exc.error == "invalid_client":
        address = request.client.host if request.client else ""
        wait = await run_in_threadpool(server.failed_authentication, client_id, address)
        if wait is not None:
            return too_many_failures(wait)
    return error_response(exc, basic_auth_used=bool(request.headers.get("authorization")))


def claimed_client_id(form: FormRequest | None) -> str:
    """Who the caller says it is, for the audit log and the throttle (not proof of anything)."""
    if form is None:
        return ""
    try:
        return credentials(form)[1][:128]
    except OAuth2Error:
        return form.form.get("client_id", "")[:128]


@router.post(metadata.TOKEN)
async def token(request: Request) -> Response:
    form = None
    try:
        form = await _form(request)
        if not form.form.get("grant_type"):
            raise oauth_error("invalid_request", "'grant_type' is required")
        result = await run_in_threadpool(_server(request).token, form)
    except OAuth2Error as exc:
        return await _refused(request, exc, "token.refused", form)
    return JSONResponse(result.body, status_code=result.status, headers=result.headers)


@router.post(metadata.REVOKE)
async def revoke(request: Request) -> Response:
    form = None
    try:
        form = await _form(request)
        await run_in_threadpool(_server(request).endpoint, "revocation", form)
    except OAuth2Error as exc:
        return await _refused(request, exc, "token.revoke", form)
    return Response(status_code=200, headers=NO_STORE)


@router.post(metadata.INTROSPECT)
async def introspect(request: Request) -> Response:
    form = None
    try:
        form = await _form(request)
        result = await run_in_threadpool(_server(request).endpoint, "introspection", form)
    except OAuth2Error as exc:
        return await _refused(request, exc, "token.introspect", form)
    return JSONResponse(result.body, headers=NO_STORE)


@router.get(metadata.KEYS)
def keys(request: Request) -> JSONResponse:
    return JSONResponse(_server(request).keys.jwks(),
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/oauth-authorization-server")
@router.get("/.well-known/openid-configuration")
def server_metadata(request: Request) -> JSONResponse:
    server = _server(request)
    with server.factory() as session:
        scopes = sorted({s for group in session.scalars(select(AccessGroup.scopes)) for s in group})
    doc: dict[str, Any] = metadata.document(
        server.issuer, [grant.GRANT_TYPE for grant in GRANTS], scopes
    )
    return JSONResponse(doc)
