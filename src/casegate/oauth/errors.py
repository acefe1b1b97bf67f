"""The OAuth errors the grants and endpoints raise (RFC 6749 §5.2, RFC 6750 §3, RFC 7009
§2.2.1): authlib's classes, and casegate's own through oauth_error. The web edge answers them
(web/oauth_http.py)."""

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
    "explained",
    "oauth_error",
]

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
