"""The token endpoint's common case, answered before FastAPI's routing: a client_credentials
request that passes every check gets its token here; anything else goes on, untouched, to
the full endpoint (oauth/routes.py), which answers it as it always has.

Why: a token costs about 0.15 ms of CPU on this HTTP stack with its signature; the general
path (FastAPI route, threadpool hop, ORM session with three loaded entities, authlib's
dispatch) cost about 1 ms more (profiled with py-spy, bench/README.md). Here: one Core query
for the client, its operator and its access group's scopes, inline on SQLite (a WAL read
never waits for a writer) and in the threadpool on PostgreSQL (a network round trip).

Nothing is decided differently: the same form parser, credential parser, constant-time
secret check (against the dummy digest for an unknown ID), grant, scope and operator checks
run here; on any failure the request is handed to the full endpoint, which runs them again
and answers the error, with its audit event and failure throttle.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casegate.oauth import metadata, scopes
from casegate.oauth.client_auth import credentials, secret_matches
from casegate.oauth.errors import OAuth2Error
from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.requests import FormRequest, parse_form
from casegate.oauth.tokens import Grant, issue_access_token
from casegate.storage.models import AccessGroup, ClientRegistration, Operator
from casegate.web.runtime import Runtime

FORM = "application/x-www-form-urlencoded"
HEADERS = dict(ClientCredentialsGrant.TOKEN_RESPONSE_HEADER)
CLIENT_QUERY = (
    select(ClientRegistration.client_id, ClientRegistration.secret_hash,
           ClientRegistration.old_secret_hash, ClientRegistration.old_secret_until,
           ClientRegistration.grant_types, ClientRegistration.enabled,
           ClientRegistration.scopes, ClientRegistration.token_lifetime,
           ClientRegistration.not_before, Operator.id.label("operator_id"), Operator.kind,
           Operator.enabled.label("operator_enabled"),
           Operator.not_before.label("operator_not_before"),
           AccessGroup.scopes.label("group_scopes"))
    .outerjoin(Operator, Operator.id == ClientRegistration.operator_id)
    .outerjoin(AccessGroup, AccessGroup.name == Operator.access_group)
    .where(ClientRegistration.client_id == bindparam("client_id"))
)


class Declined(Exception):
    """Not the common case: the full endpoint answers."""


def grant_for(conn: Connection, hmac_key: bytes, request: FormRequest) -> Grant:
    """What the full endpoint would issue for this request, or Declined."""
    try:
        _method, client_id, secret = credentials(request)
    except OAuth2Error as exc:
        raise Declined from exc
    row = conn.execute(CLIENT_QUERY, {"client_id": client_id}).first()
    # hashed and compared even for an unknown ID, as client_auth.authenticate does
    if not secret_matches(row, hmac_key, secret) or row is None or not row.enabled:
        raise Declined
    if ClientCredentialsGrant.GRANT_TYPE not in row.grant_types:
        raise Declined
    if row.operator_id is None or row.kind != "service" or not row.operator_enabled:
        raise Declined
    allowed = list(row.group_scopes) if row.group_scopes is not None else []
    if row.scopes:
        allowed = [s for s in allowed if s in row.scopes]
    try:
        scope = scopes.issued(conn, request.form.get("scope"), allowed)
    except OAuth2Error as exc:
        raise Declined from exc
    return Grant(client_id=row.client_id, operator_id=row.operator_id, scope=scope,
                 lifetime=row.token_lifetime,
                 not_before=max(row.not_before, row.operator_not_before))


class FastToken:
    """ASGI middleware: the token endpoint's common case; every other request passes by."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.inline = runtime.engine.dialect.name == "sqlite"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != metadata.TOKEN
                or scope["method"] != "POST" or scope.get("query_string")):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        token = await self._token(scope, body)
        if token is not None:
            await JSONResponse(token, headers=HEADERS)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _token(self, scope: Scope, body: bytes) -> dict[str, Any] | None:
        headers = Headers(scope=scope)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != FORM:
            return None
        try:
            form = parse_form(body)
        except OAuth2Error:
            return None
        if form.get("grant_type") != ClientCredentialsGrant.GRANT_TYPE:
            return None
        request = FormRequest("POST", "https://casegate" + metadata.TOKEN, headers, form)
        try:
            if self.inline:
                grant = self._grant(request)
            else:
                grant = await run_in_threadpool(self._grant, request)
        except Declined:
            return None
        server = self.runtime.server
        token = issue_access_token(server.keys, server.issuer, server.settings.api_audience,
                                   grant)
        server.audit.add("token.issued", actor=grant.operator_id, subject=grant.client_id,
                         grant_type=ClientCredentialsGrant.GRANT_TYPE, scope=grant.scope)
        return token

    def _grant(self, request: FormRequest) -> Grant:
        with self.runtime.engine.connect() as conn:
            return grant_for(conn, self.runtime.server.hmac_key, request)
