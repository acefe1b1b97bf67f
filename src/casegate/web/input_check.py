"""The edge check for control characters, in front of everything (the fast paths too).

A request whose path, query or header values hold a control character (casegate.text) is
answered 400 before any code reads it: a NUL that reached PostgreSQL would fail deep in a
query as a 500. Bodies are checked where they are parsed, with the same definition: forms
(oauth/requests.parse_form, the pages' forms) and the JSON names and IDs that queries use
(cases/schemas.Name).
"""

from __future__ import annotations

from itertools import chain
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from casegate.text import has_control
from casegate.web.middleware import security_headers, send_error


def refused_part(scope: Scope) -> str | None:
    """Which part of the request holds a control character, if any."""
    if has_control(scope["path"]):  # already percent-decoded by the server
        return "path"
    query = scope.get("query_string", b"")
    if query and has_control(unquote_to_bytes(query)):
        return "query"
    # one search over every name and value, joined by HTAB (allowed: it cannot make a match)
    if has_control(b"\t".join(chain.from_iterable(scope["headers"]))):
        return "header"
    return None


class RefuseControlCharacters:
    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.headers = security_headers(https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            part = refused_part(scope)
            if part is not None:
                await send_error(scope, send, 400, "invalid_request",
                                 f"the request {part} has control characters", self.headers)
                return
        await self.app(scope, receive, send)
