"""Which methods a path has, decided in one place from the app's routes (RFC 9110 §9.3.7,
§15.5.6): `OPTIONS` answers 204 with `Allow`, every 405 carries the same `Allow`, and `HEAD`
is answered wherever `GET` is (the GET's status and headers, without the body).

Starlette answers a method no route of the path has with the `Allow` of whichever route
matched first (`GET /cases` said `Allow: POST`), and FastAPI's routes take no `HEAD`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# a mounted app without its own method list (the static files of /docs) reads only
READ = frozenset({"GET", "HEAD"})


def allowed(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    """Every method some route of this path takes (empty: no route has the path)."""
    path = scope["path"]  # casegate is mounted at the root: no root_path to take off
    methods: set[str] = set()
    for route in iter_route_contexts(routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= route.methods or READ
    if "GET" in methods:
        methods.add("HEAD")
    return methods | {"OPTIONS"} if methods else methods


def allow_header(methods: set[str]) -> bytes:
    return ", ".join(sorted(methods)).encode()


class Methods:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the router's live list: routes added later count too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            methods = allowed(self.routes, scope)
            if methods:
                await send({"type": "http.response.start", "status": 204, "headers": [
                    (b"allow", allow_header(methods)), (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b""})
                return
        elif method == "HEAD" and "GET" in allowed(self.routes, scope):
            await self.app(dict(scope, method="GET"), receive, _without_body(send))
            return
        await self.app(scope, receive, self._allow_on_405(scope, send))

    def _allow_on_405(self, scope: Scope, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = dict(message, headers=[
                    *headers, (b"allow", allow_header(allowed(self.routes, scope)))])
            await send(message)
        return sending


def _without_body(send: Send) -> Send:
    """HEAD: the GET's answer with its Content-Length, and no body (RFC 9110 §9.3.2)."""
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = dict(message, body=b"")
        await send(message)
    return sending
