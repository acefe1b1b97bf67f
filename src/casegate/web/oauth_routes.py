"""The OAuth endpoints, kept thin: read the form, run the server in the threadpool, answer."""

from __future__ import annotations

from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from casegate import metrics
from casegate.oauth import metadata
from casegate.oauth.client_auth import credentials
from casegate.oauth.errors import OAuth2Error, oauth_error
from casegate.oauth.grants import GRANTS
from casegate.oauth.requests import FormRequest
from casegate.oauth.schemas import TOKEN_ARG_DOC, TOKEN_DOC
from casegate.oauth.scopes import known_scopes
from casegate.oauth.server import AuthorizationServer
from casegate.web import openapi
from casegate.web.oauth_http import NO_STORE, error_response, read_form, too_many_failures

router = APIRouter(tags=["OAuth 2.0"])


def _server(request: Request) -> AuthorizationServer:
    server: AuthorizationServer = request.app.state.runtime.server
    return server


async def _form(request: Request) -> FormRequest:
    form = await read_form(request)
    form.address = request.client.host if request.client else ""
    return form


async def _refused(request: Request, exc: OAuth2Error, event: str,
                   form: FormRequest | None) -> Response:
    server = _server(request)
    client_id = claimed_client_id(form)
    grant_type = form.form.get("grant_type", "")[:64] if form is not None else ""
    server.audit.add(event, outcome="refused", error=exc.error, subject=client_id,
                     detail=str(exc.description or "")[:200], grant_type=grant_type)
    if exc.error == "invalid_client":
        address = request.client.host if request.client else ""
        wait = await run_in_threadpool(server.failed_authentication, client_id, address)
        if wait is not None:
            metrics.throttled("client_auth")
            return too_many_failures(wait)
    return error_response(exc)


def claimed_client_id(form: FormRequest | None) -> str:
    """Who the caller says it is, for the audit log and the throttle (not proof of anything)."""
    if form is None:
        return ""
    try:
        return credentials(form)[1][:128]
    except OAuth2Error:
        return form.form.get("client_id", "")[:128]


@router.post(metadata.TOKEN, summary="Token endpoint (RFC 6749 §4.4, §5)",
             openapi_extra=TOKEN_DOC, responses=openapi.TOKEN)
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


@router.post(metadata.REVOKE, summary="Revoke a token (RFC 7009)", openapi_extra=TOKEN_ARG_DOC,
             response_class=Response, responses=openapi.REVOKE)
async def revoke(request: Request) -> Response:
    form = None
    try:
        form = await _form(request)
        await run_in_threadpool(_server(request).endpoint, "revocation", form)
    except OAuth2Error as exc:
        return await _refused(request, exc, "token.revoke", form)
    return Response(status_code=200, headers=NO_STORE)


@router.post(metadata.INTROSPECT, summary="Introspect a token (RFC 7662)",
             openapi_extra=TOKEN_ARG_DOC, responses=openapi.INTROSPECT)
async def introspect(request: Request) -> Response:
    form = None
    try:
        form = await _form(request)
        result = await run_in_threadpool(_server(request).endpoint, "introspection", form)
    except OAuth2Error as exc:
        return await _refused(request, exc, "token.introspect", form)
    return JSONResponse(result.body, headers=NO_STORE)


@router.get(metadata.KEYS, summary="Signing keys (JWKS)", responses=openapi.KEYS)
async def keys(request: Request) -> JSONResponse:
    # a thread of its own: a producer casegate fetches this JWKS to verify the assertion of an
    # exchange (remote case types) that one of the request threads is waiting on, while the
    # others wait on that exchange; behind them, the fetch timed out and the exchange failed
    state = request.app.state
    if getattr(state, "jwks_limiter", None) is None:
        state.jwks_limiter = CapacityLimiter(1)
    jwks = await to_thread.run_sync(_server(request).keys.jwks, limiter=state.jwks_limiter)
    return JSONResponse(jwks, headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/oauth-authorization-server", summary="Metadata (RFC 8414)",
            responses=openapi.METADATA)
@router.get("/.well-known/openid-configuration", summary="Metadata (OpenID Connect Discovery)",
            responses=openapi.METADATA)
def server_metadata(request: Request) -> JSONResponse:
    server = _server(request)
    with server.factory() as session:
        scopes = sorted(known_scopes(session))
    doc: dict[str, Any] = metadata.document(
        server.issuer, [grant.GRANT_TYPE for grant in GRANTS], scopes,
        server.keys.current().alg or server.settings.signing_alg)
    return JSONResponse(doc)
