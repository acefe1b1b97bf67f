"""ASGI middleware every surface shares: body size limit, security headers, no stack traces."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casegate.web import failures
from casegate.web.api_errors import API_PREFIX, envelope_body

log = logging.getLogger("casegate.web")
TOO_LARGE = ("invalid_request", "the request body is too large")  # RFC 6749 §5.2 has no better code


class BodyTooLarge(Exception):
    pass


def _error(path: str, status: int, error: str, description: str) -> dict[str, Any]:
    """The Pega API answers its own envelope (DESIGN), every other surface RFC 6749 §5.2's."""
    if path.startswith(API_PREFIX):
        return envelope_body(status, description)
    return {"error": error, "error_description": description}


def _json(status: int, body: dict[str, Any]) -> tuple[Message, Message]:
    data = json.dumps(body).encode()
    start: Message = {"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store")]}
    return start, {"type": "http.response.body", "body": data}


def security_headers(https: bool) -> list[tuple[bytes, bytes]]:
    """What every answer carries."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class Guard:
    """Refuses oversized bodies with 413 and turns any unexpected error into a plain 500, or
    a 503 with Retry-After when the database is out (web/failures.py).

    The answer says nothing about the cause; the trace goes to the server's log only.
    """

    def __init__(self, app: ASGIApp, max_body: int, https: bool) -> None:
        self.app = app
        self.max_body = max_body
        self.headers = security_headers(https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._answer(scope, send, 413, *TOO_LARGE)
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
                await self._answer(scope, send, 413, *TOO_LARGE)
        except Exception as exc:
            failures.REPORTER.report(exc, f"{scope.get('method')} {scope.get('path')}")
            if started:
                return
            if failures.unavailable(exc):  # RFC 9110 §15.6.4: come back later
                await send_error(scope, send, 503, "temporarily_unavailable",
                                 "the database is unavailable; retry later",
                                 [*self.headers, failures.RETRY_AFTER_HEADER])
            else:
                await self._answer(scope, send, 500, "server_error", "the server could not answer")

    async def _answer(self, scope: Scope, send: Send, status: int, error: str,
                      description: str) -> None:
        await send_error(scope, send, status, error, description, self.headers)


async def send_error(scope: Scope, send: Send, status: int, error: str, description: str,
                     headers: list[tuple[bytes, bytes]]) -> None:
    """An error answered straight from ASGI, in the shape of the surface asked."""
    start, body = _json(status, _error(scope.get("path", ""), status, error, description))
    start["headers"] = start["headers"] + headers
    await send(start)
    await send(body)
