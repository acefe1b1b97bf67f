"""The OAuth error table and its one renderer (RFC 6749 §5.2, RFC 6750 §3, RFC 7009 §2.2.1).

Grants import authlib's error classes from here. Public descriptions are fixed for the
codes an attacker could learn from; the library's or casegate's detail goes to the audit log.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
    UnsupportedTokenTypeError,
)
from starlette.responses import JSONResponse

__all__ = [
    "CommitFirst",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "OAuth2Error",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedTokenTypeError",
    "error_response",
    "explained",
    "oauth_error",
    "too_many_failures",
]

PUBLIC = {
    "invalid_client": "client authentication failed",
    "invalid_grant": "grant request is invalid",
    "unauthorized_client": "the client is not allowed to use this grant type",
    "unsupported_grant_type": "the grant type is not supported",
    "unsupported_token_type": "the token type is not supported",
}

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E only
DESCRIPTION_CHARS = frozenset(map(chr, range(0x20, 0x7F))) - {'"', "\\"}


def oauth_error(error: str, description: str, status: int = 400) -> OAuth2Error:
    """An error casegate raises itself (authlib's classes cover the rest)."""
    # a description may echo the caller's input (a scope); authlib raises ValueError on any
    # character §5.2 forbids, which would turn a plain 400 into a 500
    description = "".join(c if c in DESCRIPTION_CHARS else "?" for c in description)
    exc = OAuth2Error(description=description, status_code=status)
    exc.error = error
    return exc


def explained(error: str, description: str) -> OAuth2Error:
    """A refusal of an assertion (grant or client assertion) whose description says which
    check failed: the caller holds a signed assertion and needs to know what to fix. The
    description is always casegate's own words, never the assertion's content."""
    exc = oauth_error(error, description, 401 if error == "invalid_client" else 400)
    exc.explained = True
    return exc


class CommitFirst(Exception):
    """An error whose side effects must be kept: the request's transaction commits (a
    replayed code's revocation) and then `error` is answered."""

    def __init__(self, error: OAuth2Error) -> None:
        super().__init__(error.error)
        self.error = error


def public_description(exc: OAuth2Error) -> str:
    if getattr(exc, "explained", False):
        return str(exc.description)
    return PUBLIC.get(exc.error or "", exc.description or exc.error or "")


def too_many_failures(wait: int) -> JSONResponse:
    """SECURITY Decision 8: 429 with Retry-After and an RFC 6749-shaped body."""
    body = {"error": "invalid_client",
            "error_description": "too many failed client authentications; retry later"}
    return JSONResponse(body, status_code=429, headers=NO_STORE | {"Retry-After": str(wait)})


def error_response(exc: OAuth2Error) -> JSONResponse:
    error = exc.error or "invalid_request"
    status = 401 if error == "invalid_client" else (exc.status_code or 400)
    headers = dict(NO_STORE)
    # RFC 6749 §5.2 asks for the challenge when Basic was tried; RFC 9110 §15.5.2 wants one
    # on every 401, and Basic is the scheme a client can always retry with
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # SECURITY Decision 8
        headers["Retry-After"] = str(retry_after)
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="casegate", charset="UTF-8"'
    body = {"error": error, "error_description": public_description(exc)}
    return JSONResponse(body, status_code=status, headers=headers)
