"""The outermost layer of every request: its ID (X-Request-ID, taken when safe or made, and
echoed), its access log line, its metrics. In front of the fast paths, so they are counted too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casegate import logs, observe

log = logging.getLogger("casegate.access")
UNMATCHED = "unmatched"  # a path no route answers: never the raw path (unbounded, and the caller's)
Observer = Callable[[str, str, int, float], None]  # method, route, status, seconds


def route_of(scope: Scope) -> str:
    """The route's template (`/prweb/api/v1/cases/{case_id}`), never the path itself."""
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("casegate.route")
    return str(path) if path else UNMATCHED


class AccessLog:
    def __init__(self, app: ASGIApp, observers: list[Observer] | None = None) -> None:
        self.app = app
        self.observers = observers or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value  # the last one, as a dict of the headers would keep
        request_id = observe.request_id_from(given.decode("latin-1") if given else None)
        observe.begin(request_id)
        started = time.perf_counter()
        status = 500  # when nothing was answered (the client went away, or worse)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = scope["method"]
            logs.access(log, method, route, status, round(seconds * 1000, 2))
            for observer in self.observers:
                observer(method, route, status, seconds)
