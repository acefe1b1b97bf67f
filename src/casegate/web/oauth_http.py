"""The OAuth endpoints' HTTP edge: the form of a request (in the body only, RFC 6749 §3.2)
and errors answered in RFC 6749 §5.2's shape.

Public descriptions are fixed for the codes an attacker could learn from; the library's or
casegate's detail goes to the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from casegate.oauth.errors import OAuth2Error, oauth_error
from casegate.oauth.requests import FormRequest, parse_form

# credentials in a URL end up in logs and browser history (RFC 6749 §2.3.1, §3.2)
NEVER_IN_QUERY = ("client_secret", "password", "assertion", "code", "refresh_token", "token")

PUBLIC = {
    "invalid_client": "client authentication failed",
    "invalid_grant": "grant request is invalid",
    "unauthorized_client": "the client is not allowed to use this grant type",
    "unsupported_grant_type": "the grant type is not supported",
    "unsupported_token_type": "the token type is not supported",
}

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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
