"""The token endpoint's client_credentials request, answered before FastAPI's routing.

Nothing here decides anything: the request goes through the one client authentication
(client_auth.authenticate) and the grant's one decision and answer (grants/client_credentials
decide, issue), as at the full endpoint (web/oauth_routes.py, authlib's dispatch). What it skips
is transport: FastAPI's routing and middleware, authlib's dispatch, the ORM session and, on
SQLite, the threadpool hop (a WAL read never waits for a writer, so the one lookup runs inline
on a plain sqlite3 connection). Refusals, private_key_jwt (its assertion is recorded as used:
a write) and any failure go on, untouched, to the full endpoint, which answers them with
their audit event and the failure throttle. CASEGATE_FAST_PATHS=off turns this off.

Why: a token costs about 0.15 ms of CPU on this HTTP stack with its signature; the general
path cost about 1 ms more (profiled with py-spy, bench/README.md).
"""

from __future__ import annotations

import sqlite3

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Scope

from casegate.oauth import client_auth, metadata
from casegate.oauth.errors import OAuth2Error
from casegate.oauth.grants import client_credentials
from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.requests import FormRequest, parse_form
from casegate.oauth.tokens import Grant
from casegate.storage.reader import SqliteReader
from casegate.web.fast_path import Answer, FastPath
from casegate.web.runtime import Runtime

FORM = b"application/x-www-form-urlencoded"
# TOKEN_RESPONSE_HEADER but Content-Type, which FastPath sends
NO_CACHE = [(k.lower().encode(), v.encode())
            for k, v in ClientCredentialsGrant.TOKEN_RESPONSE_HEADER if k.lower() != "content-type"]


class FastToken(FastPath):
    """client_credentials with a secret; every other request passes by."""

    PATH = metadata.TOKEN

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime.settings)
        self.runtime = runtime
        url = runtime.engine.url
        path = url.database or ""
        self.reader = (SqliteReader(path) if url.get_backend_name() == "sqlite"
                       and path and path != ":memory:" else None)

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        request = self._request(scope, body)
        if request is None:
            return None
        try:
            if self.reader is not None:
                grant = self._grant(self.reader, request)
            else:
                grant = await run_in_threadpool(self._pooled, request)
        except (OAuth2Error, sqlite3.Error):
            return None  # the full endpoint answers, audits and throttles it
        return 200, client_credentials.issue(self.runtime.server, grant), NO_CACHE

    @staticmethod
    def _request(scope: Scope, body: bytes) -> FormRequest | None:
        raw = scope["headers"]
        # the first Content-Type, as Headers.get answers (without decoding every header)
        kind = next((value for name, value in raw if name == b"content-type"), b"")
        if kind.split(b";")[0].strip().lower() != FORM:
            return None
        try:
            form = parse_form(body)
        except OAuth2Error:
            return None
        if form.get("grant_type") != client_credentials.GRANT_TYPE:
            return None
        return FormRequest("POST", "https://casegate" + metadata.TOKEN, Headers(raw=raw), form)

    def _grant(self, source: client_auth.Source, request: FormRequest) -> Grant:
        server = self.runtime.server
        client = client_auth.authenticate(source, server.hmac_key, request,
                                          client_auth.SECRET_METHODS)
        return client_credentials.decide(source, client, request.form.get("scope"))

    def _pooled(self, request: FormRequest) -> Grant:
        with self.runtime.engine.connect() as conn:
            return self._grant(conn, request)
