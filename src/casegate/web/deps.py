"""What endpoints receive: the runtime, and the principal of a verified bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from casegate.oauth import auth_header, bearer, metadata
from casegate.web.api_errors import ApiError
from casegate.web.runtime import Runtime

REALM = 'Bearer realm="casegate"'


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def challenge(error: str, description: str) -> dict[str, str]:
    """RFC 6750 §3: the WWW-Authenticate header of a refused bearer token."""
    return {"WWW-Authenticate": f'{REALM}, error="{error}", error_description="{description}"'}


class BearerRefused(ApiError):
    """A request whose bearer credentials are missing or malformed: the case API answers it
    in its envelope, userinfo in RFC 6750's JSON; the status and challenge are the same."""

    def __init__(self, status: int, error: str | None, message: str, description: str) -> None:
        super().__init__(status, message,
                         challenge(error, description) if error else {"WWW-Authenticate": REALM})
        self.error = error
        self.description = description


def bearer_token(request: Request) -> str:
    """RFC 6750 §2.1 only: a token in the URL leaks into logs and history (RFC 9700 §4.3.2)."""
    if "access_token" in request.query_params:
        raise BearerRefused(400, "invalid_request",
                            "send the access token in the Authorization header, not the URL",
                            "token in query string")
    try:
        token = auth_header.bearer_token(request.headers.raw)
    except auth_header.Repeated as exc:
        raise BearerRefused(400, "invalid_request", "send one Authorization header, not two",
                            "repeated Authorization header") from exc
    except auth_header.Malformed as exc:
        raise BearerRefused(401, "invalid_token", "the access token is invalid",
                            "malformed Authorization header") from exc
    # RFC 6750 §3.1: no credentials, or another scheme (Basic…), gets no error code
    if token is None:
        raise BearerRefused(401, None, "an access token is required", "no access token")
    return token


# documents the scheme in /openapi.json (and drives "Authorize" on /docs); the header itself
# is read by bearer_token, which is stricter than this helper
oauth2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
        tokenUrl=metadata.TOKEN,
        scopes={"cases": "create, read and update cases", "casetypes": "list case types"})),
    scheme_name="OAuth2ClientCredentials", auto_error=False,
    description="Client credentials of a client registration; the token acts as its operator.")


def principal(token: Annotated[str, Depends(bearer_token)],
              rt: Annotated[Runtime, Depends(runtime)],
              _documented: Annotated[str | None, Security(oauth2)] = None) -> bearer.Principal:
    settings = rt.settings
    try:
        with rt.factory() as session:
            return bearer.authenticate(session, rt.keys, settings.base_url, settings.api_audience,
                                       token, settings.clock_skew)
    except bearer.InvalidToken as exc:
        rt.audit.add("api.refused", outcome="refused", reason=str(exc))
        raise ApiError(401, "the access token is invalid, expired or revoked",
                       challenge("invalid_token", "the access token is invalid")) from exc


def require_scope(principal: bearer.Principal, scope: str) -> None:
    """RFC 6750 §3.1: a valid token without the scope the call needs is 403 insufficient_scope."""
    if scope not in principal.scope:
        raise ApiError(403, f"the access token lacks the scope {scope}", {
            "WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'})


CurrentPrincipal = Annotated[bearer.Principal, Depends(principal)]
CurrentRuntime = Annotated[Runtime, Depends(runtime)]
