"""What endpoints receive: the runtime, and the principal of a verified bearer token that
holds the scope the route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import OAuth2, SecurityScopes
from starlette.concurrency import run_in_threadpool

from casegate.access.groups import ADMIN_SCOPE
from casegate.oauth import auth_header, bearer, metadata
from casegate.web.api_errors import ApiError
from casegate.web.runtime import Runtime

REALM = 'Bearer realm="casegate"'
NO_STORE = {"Cache-Control": "no-store"}


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def challenge(error: str | None = None, description: str | None = None,
              scope: str | None = None) -> dict[str, str]:
    """RFC 6750 §3: the WWW-Authenticate header of a refused bearer token (no error code
    when the request carried no credentials)."""
    value = REALM
    if error:
        value += f', error="{error}"'
        if description:
            value += f', error_description="{description}"'
        if scope:
            value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


class BearerRefused(ApiError):
    """A request refused for its bearer token (RFC 6750 §3.1): missing, malformed, invalid,
    or without the scope the call needs. The status and challenge are the same everywhere;
    app.py answers it in each surface's shape (Pega's envelope on the case API, RFC 6750's
    JSON at userinfo)."""

    def __init__(self, status: int, error: str | None, message: str,
                 description: str | None = None, scope: str | None = None) -> None:
        super().__init__(status, message, challenge(error, description, scope))
        self.error = error
        self.description = description or message

    def oauth_response(self) -> JSONResponse:
        """RFC 6750 §3 (OpenID Connect Core §5.3.3 for userinfo): the challenge, and the
        error in a JSON body as RFC 6749 §5.2's."""
        return JSONResponse({"error": self.error or "invalid_request",
                             "error_description": self.description},
                            status_code=self.status, headers=self.headers | NO_STORE)


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
        scopes={"cases": "create, read and update cases", "casetypes": "list case types",
                ADMIN_SCOPE: "the deny list (an administrator's operator)"})),
    scheme_name="OAuth2ClientCredentials", auto_error=False,
    description="Client credentials of a client registration; the token acts as its operator.")


def principal(security_scopes: SecurityScopes,
              token: Annotated[str, Depends(bearer_token)],
              rt: Annotated[Runtime, Depends(runtime)],
              _documented: Annotated[str | None, Security(oauth2)] = None) -> bearer.Principal:
    """Who a valid token speaks for, once it holds every scope the route asks for
    (`Security(principal, scopes=[…])`, as the aliases below): the one bearer validation
    and the one scope check, as dependencies, so they run before FastAPI validates the
    body; see authorize_first for a body FastAPI refuses before them."""
    settings = rt.settings
    try:
        with rt.factory() as session:
            found = bearer.authenticate(session, rt.keys, settings.base_url,
                                        settings.api_audience, token, settings.clock_skew)
        for scope in security_scopes.scopes:
            bearer.require_scope(found, scope)
    except bearer.InvalidToken as exc:
        rt.audit.add("api.refused", outcome="refused", reason=str(exc))
        raise BearerRefused(401, "invalid_token", "the access token is invalid, expired or "
                            "revoked", "the access token is invalid") from exc
    except bearer.InsufficientScope as exc:
        raise BearerRefused(403, "insufficient_scope", str(exc), scope=exc.scope) from exc
    return found


def _scopes_of(dependant: Dependant) -> list[str] | None:
    """The scopes a route asks of its principal dependency, or None if it has none."""
    for sub in dependant.dependencies:
        if sub.call is principal:
            return [*(sub.parent_oauth_scopes or []), *(sub.own_oauth_scopes or [])]
        found = _scopes_of(sub)
        if found is not None:
            return found
    return None


async def authorize_first(request: Request) -> None:
    """For a request FastAPI refused before its dependencies ran (a body that is not JSON is
    read before them): the route's bearer token and scope are checked first, as every other
    request's, so a caller without a valid token gets 401 and one without the scope 403,
    never a 400 about the body."""
    route = request.scope.get("route")
    scopes = _scopes_of(route.dependant) if isinstance(route, APIRoute) else None
    if scopes is not None:
        await run_in_threadpool(principal, SecurityScopes(scopes), bearer_token(request),
                                runtime(request))


CasesPrincipal = Annotated[bearer.Principal, Security(principal, scopes=["cases"])]
CaseTypesPrincipal = Annotated[bearer.Principal, Security(principal, scopes=["casetypes"])]
AdminPrincipal = Annotated[bearer.Principal, Security(principal, scopes=[ADMIN_SCOPE])]
OpenIDPrincipal = Annotated[bearer.Principal, Security(principal, scopes=["openid"])]
CurrentRuntime = Annotated[Runtime, Depends(runtime)]
