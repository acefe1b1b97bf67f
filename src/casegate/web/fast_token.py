"""The token endpoint's client_credentials request, answered before FastAPI's routing.

Nothing here decides anything: the request goes through the one client authentication
(client_auth.authenticate) and the grant's one decision and answer (grants/client_credentials
decide, issue), as at the full endpoint (web/oauth_routes.py, authlib's dispatch). What it skips
is transport: FastAPI's routing and middleware, authlib's dispatch, the ORM session and, on
SQLite, the threadpool hop (a WAL read never waits for a writer, so the one lookup runs inline
on a plain sqlite3 connection; on PostgreSQL on one autocommit connection per process,
storage/pg_reader.py, once a pooled read has opened it). Refusals, private_key_jwt (its
assertion is recorded as used: a write) and any failure go on, untouched, to the full
endpoint, which answers them with their audit event and the failure throttle.
CASEGATE_FAST_PATHS=off turns this off.

Why: a token costs about 0.15 ms of CPU on this HTTP stack with its signature; the general
path cost about 1 ms more (profiled with py-spy, bench/README.md).
"""

from __future__ import annotations

import sqlite3

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from casegate.oauth import client_auth, metadata
from casegate.oauth.errors import OAuth2Error
from casegate.oauth.grants import client_credentials
from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.requests import FormRequest
from casegate.oauth.tokens import Grant
from casegate.storage.pg_reader import PostgresReader, ReaderError
from casegate.storage.reader import SqliteReader
from casegate.web.fast_path import Answer, FastPath, form_request
from casegate.web.runtime import Runtime

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
        self.pg = PostgresReader(url) if url.get_backend_name() == "postgresql" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)
        if scope["type"] == "lifespan" and self.pg is not None:
            self.pg.close()  # the server stopped

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        request = self._request(scope, body)
        if request is None:
            return None
        try:
            if self.reader is not None:
                grant = self._grant(self.reader, request)
            elif self.pg is not None and self.pg.connected:
                grant = self._grant(self.pg, request)
            else:
                grant = await run_in_threadpool(self._pooled, request)
        except (OAuth2Error, sqlite3.Error, ReaderError):
            return None  # the full endpoint answers, audits and throttles it
        return 200, client_credentials.issue(self.runtime.server, grant), NO_CACHE

    @staticmethod
    def _request(scope: Scope, body: bytes) -> FormRequest | None:
        request = form_request(scope, body)
        if request is None or request.form.get("grant_type") != client_credentials.GRANT_TYPE:
            return None
        return request

    def _grant(self, source: client_auth.Source, request: FormRequest) -> Grant:
        server = self.runtime.server
        client = client_auth.authenticate(source, server.hmac_key, request,
                                          client_auth.SECRET_METHODS)
        return client_credentials.decide(source, client, request.form.get("scope"))

    def _pooled(self, request: FormRequest) -> Grant:
        with self.runtime.engine.connect() as conn:
            grant = self._grant(conn, request)
        if self.pg is not None:
            self.pg.connect()  # the next requests read on the event loop
        return grant
