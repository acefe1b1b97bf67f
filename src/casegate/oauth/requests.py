"""Starlette request → authlib request: form bodies only, each parameter at most once."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.requests import Request

from casegate.oauth.errors import oauth_error
from casegate.text import has_control

MAX_FIELDS = 50
# credentials in a URL end up in logs and browser history (RFC 6749 §2.3.1, §3.2)
KNOWN = frozenset({
    "grant_type", "client_id", "client_secret", "scope", "token", "token_type_hint", "code",
    "redirect_uri", "code_verifier", "refresh_token", "username", "password", "assertion",
    "client_assertion", "client_assertion_type", "state", "nonce", "resource", "audience",
})
NEVER_IN_QUERY = ("client_secret", "password", "assertion", "code", "refresh_token", "token")


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An authlib request over a parsed form, carrying the database session of this request."""

    def __init__(self, method: str, uri: str, headers: Headers, form: dict[str, str]) -> None:
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


async def read_form(request: Request) -> FormRequest:
    for name in NEVER_IN_QUERY:
        if name in request.query_params:
            raise oauth_error("invalid_request", f"'{name}' must be sent in the body, not the URL")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise oauth_error(
            "invalid_request", "the body must be application/x-www-form-urlencoded"
        )
    form = parse_form(await request.body())
    # the request URI only informs authlib's transport check; TLS is casegate's own business
    uri = "https://casegate" + request.url.path
    return FormRequest(request.method, uri, request.headers, form)


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
