"""In front of FastAPI: one endpoint's common case answered straight from ASGI messages.

A subclass answers the requests that pass every check of the full endpoint, and declines
(None) anything else before it has changed anything; a declined request goes on, with its
body replayed, to the full stack (Guard, FastAPI, the route), which answers it as always.
Used where the profile showed FastAPI's routing, dependencies and middleware costing as much
as the work itself (bench/README.md).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casegate.oauth import client_auth
from casegate.oauth.errors import OAuth2Error
from casegate.oauth.requests import FormRequest, parse_form
from casegate.settings import Settings
from casegate.storage.pg_reader import GroupRead, ReaderError
from casegate.web import failures
from casegate.web.middleware import security_headers
from casegate.web.runtime import Runtime

log = logging.getLogger("casegate.web")
Answer = tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]
# as Starlette's JSONResponse renders it; built once (json.dumps with options builds one a call)
RENDER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode
FORM = b"application/x-www-form-urlencoded"


def form_request(scope: Scope, body: bytes) -> FormRequest | None:
    """An OAuth endpoint's request as the full endpoint reads it (web/oauth_http.py), or None
    where that would refuse it (not a form, or a malformed one)."""
    raw = scope["headers"]
    # the first Content-Type, as Headers.get answers (without decoding every header)
    kind = next((value for name, value in raw if name == b"content-type"), b"")
    if kind.split(b";")[0].strip().lower() != FORM:
        return None
    try:
        form = parse_form(body)
    except OAuth2Error:
        return None
    return FormRequest("POST", "https://casegate" + scope["path"], Headers(raw=raw), form)


class FastPath:
    PATH = ""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.headers = security_headers(https=not settings.http)

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.PATH
                or scope["method"] != "POST" or scope.get("query_string")):
            await self.app(scope, receive, send)
            return
        # in front of Guard: only a body of a declared, allowed length is read here (the
        # server holds the client to it); anything else is Guard's to limit or refuse
        declared = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value  # the last one, as a dict of the headers would keep
        if not declared.isdigit() or int(declared) > self.max_body:
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
        try:
            answer = await self.answer(scope, body)
        except Exception as exc:  # in front of Guard: the full stack meets it again, answers
            if not failures.unavailable(exc):  # Guard's to log, once per request
                log.exception("fast path of %s declined after an error", self.PATH)
            answer = None
        if answer is not None:
            scope["casegate.route"] = self.PATH  # for the access log: no FastAPI route here
            status, content, headers = answer
            data = RENDER(content).encode("utf-8")
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-length", str(len(data)).encode()),
                (b"content-type", b"application/json"), *headers, *self.headers]})
            await send({"type": "http.response.body", "body": data})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class FormFront(FastPath):
    """An OAuth endpoint's common case, a client with its secret: the form read as the full
    endpoint reads it, the client authenticated by the one client authentication, then
    `decide` on one read source, as the token endpoint's front reads (web/fast_token.py): on
    SQLite inline, on a plain sqlite3 connection (storage/reader.py); on PostgreSQL on one
    autocommit connection per process (storage/pg_reader.py) once a pooled read has opened
    it, the client lookups of one turn of the event loop read by one statement
    (client_auth.authenticate_gathered); else a pooled connection in the threadpool.
    `decide` answers, or declines with None or an OAuth2Error (the full endpoint then
    answers, audits and throttles); a failed read declines too."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime.settings)
        self.runtime = runtime
        self.hmac_key = runtime.server.hmac_key
        self.reader, self.pg = runtime.reader, runtime.pg
        self.clients = (GroupRead(runtime.pg, client_auth.CLIENT_MANY, ("client_id",))
                        if runtime.pg is not None else None)

    def accepts(self, request: FormRequest) -> bool:
        """Whether the request is one this front answers, before anything is read."""
        return True

    def decide(self, source: client_auth.Source, request: FormRequest,
               client: client_auth.AuthenticatedClient) -> Answer | None:
        raise NotImplementedError

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        request = form_request(scope, body)
        if request is None or not self.accepts(request):
            return None
        try:
            if self.reader is not None:
                return self._decide(self.reader, request)
            if self.pg is not None and self.clients is not None and self.pg.connected:
                client = await client_auth.authenticate_gathered(
                    self.clients, self.hmac_key, request)
                return self.decide(self.pg, request, client)
            return await run_in_threadpool(self._pooled, request)
        except (OAuth2Error, sqlite3.Error, ReaderError):
            return None

    def _decide(self, source: client_auth.Source, request: FormRequest) -> Answer | None:
        client = client_auth.authenticate(source, self.hmac_key, request,
                                          client_auth.SECRET_METHODS)
        return self.decide(source, request, client)

    def _pooled(self, request: FormRequest) -> Answer | None:
        with self.runtime.engine.connect() as conn:
            answer = self._decide(conn, request)
        if self.pg is not None:
            self.pg.connect()  # the next requests read on the event loop
        return answer
