"""ASGI middleware every surface shares: body size limit, security headers, no stack traces."""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("casegate.web")


class BodyTooLarge(Exception):
    pass


def _json(status: int, body: dict[str, str]) -> tuple[Message, Message]:
    data = json.dumps(body).encode()
    start: Message = {"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store")]}
    return start, {"type": "http.response.body", "body": data}


class Guard:
    """Refuses oversized bodies with 413 and turns any unexpected error into a plain 500.

    The 500 says nothing about the cause; the trace goes to the server's log only.
    """

    def __init__(self, app: ASGIApp, max_body: int, https: bool) -> None:
        self.app = app
        self.max_body = max_body
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._answer(send, 413, "request_too_large", "the request body is too large")
            return
        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await self._answer(send, 413, "request_too_large", "the request body is too large")
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await self._answer(send, 500, "server_error", "the server could not answer")

    async def _answer(self, send: Send, status: int, error: str, description: str) -> None:
        start, body = _json(status, {"error": error, "error_description": description})
        start["headers"] = start["headers"] + self.headers
        await send(start)
        await send(body)
