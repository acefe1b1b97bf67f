"""The Authorization header, read one way for every route: the case API, userinfo, the fast
paths and client authentication at the token, revocation and introspection endpoints.

One header at most (RFC 9110 §5.3: it is not a list, so two cannot be combined, and taking
either one lets a valid credential vouch for a revoked one beside it); the scheme is
case-insensitive (RFC 9110 §11.1); a bearer token is one b64token (RFC 6750 §2.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class Repeated(Exception):
    """More than one Authorization header: invalid_request, 400 (RFC 6750 §3.1)."""


class Malformed(Exception):
    """A Bearer header whose credentials are not one token."""


def authorization(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """(scheme in lower case, credentials) of the request's one Authorization header, or None
    without one. `headers` are the raw ASGI pairs (Starlette's `Headers.raw`)."""
    values = [value for name, value in headers if name.lower() == b"authorization"]
    if not values:
        return None
    if len(values) > 1:
        raise Repeated
    scheme, _, credentials = values[0].decode("latin-1").strip().partition(" ")
    return scheme.lower(), credentials.strip(" ")


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The bearer token, or None when there is no Authorization header or it names another
    scheme (RFC 6750 §3.1: answered like no credentials at all)."""
    found = authorization(headers)
    if found is None or found[0] != "bearer":
        return None
    if not B64TOKEN.fullmatch(found[1]):
        raise Malformed
    return found[1]
