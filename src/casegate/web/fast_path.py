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
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casegate.settings import Settings
from casegate.web import failures
from casegate.web.middleware import security_headers

log = logging.getLogger("casegate.web")
Answer = tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]


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
            # as Starlette's JSONResponse renders it
            data = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                              separators=(",", ":")).encode("utf-8")
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
