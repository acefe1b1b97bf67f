"""A token endpoint form → authlib request: each parameter at most once, no control
characters (the HTTP request is read at the web edge: web/oauth_http.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from sqlalchemy.orm import Session

from casegate.oauth.errors import oauth_error
from casegate.text import has_control

MAX_FIELDS = 50
KNOWN = frozenset({
    "grant_type", "client_id", "client_secret", "scope", "token", "token_type_hint", "code",
    "redirect_uri", "code_verifier", "refresh_token", "username", "password", "assertion",
    "client_assertion", "client_assertion_type", "state", "nonce", "resource", "audience",
})


# The URI casegate's endpoints give every request (web/oauth_http.py, web/fast_path.py): TLS
# is casegate's own business, and authlib's transport check always passes this one. For it,
# the state authlib's __init__ sets is copied from one request made at import (through that
# check), not made again with the check's environment read and URL split per request.
SECURE_URI = "https://casegate/"
_BLANK = dict(vars(OAuth2Request("POST", SECURE_URI)))


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An authlib request over a parsed form, carrying the database session of this request."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str],
                 form: dict[str, str]) -> None:
        if uri.startswith(SECURE_URI):
            self.__dict__.update(_BLANK, method=method, uri=uri, headers=headers)
        else:
            super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)
        self.session: Session | None = None
        self.address = ""  # the caller's IP address, for throttling

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise oauth_error("invalid_request", "the body is not a valid form") from exc
    if any(has_control(name) or has_control(value) for name, value in pairs):
        raise oauth_error("invalid_request", "the body has control characters")
    form: dict[str, Any] = {}
    for name, value in pairs:
        if name in form:
            shown = f"parameter '{name}'" if name in KNOWN else "a parameter"
            raise oauth_error("invalid_request", f"{shown} is repeated")
        form[name] = value
    return form
