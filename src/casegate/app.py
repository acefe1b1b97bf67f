"""create_app(settings): the whole HTTP surface of one casegate process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from casegate import metrics
from casegate.audit import BatchedAudit
from casegate.errors import CasegateError
from casegate.oauth.grants import GRANTS
from casegate.oauth.introspection import IntrospectionEndpoint
from casegate.oauth.keys import KeyRing
from casegate.oauth.revocation import RevocationEndpoint
from casegate.oauth.server import AuthorizationServer
from casegate.remote.client import RemoteClient, RemoteFailure
from casegate.settings import Settings
from casegate.storage import versions
from casegate.storage.db import make_engine, session_factory
from casegate.web import (
    admin,
    authorize,
    browser,
    cases_v1,
    cases_v2,
    denylist_api,
    deps,
    docs,
    health,
    logout,
    oauth_routes,
    scrape,
    userinfo,
)
from casegate.web.access import AccessLog
from casegate.web.api_errors import (
    API_PREFIX,
    STATUS,
    ApiError,
    api_error_response,
    domain_error_response,
    envelope,
)
from casegate.web.fast_create import FastCreateCase
from casegate.web.fast_introspect import FastIntrospect
from casegate.web.fast_token import FastToken
from casegate.web.input_check import RefuseControlCharacters
from casegate.web.methods import Methods
from casegate.web.middleware import Guard
from casegate.web.runtime import Runtime

DESCRIPTION = (
    "The Pega-style case API that casegate protects. Every call needs an access token "
    "from the token endpoint (`POST /prweb/PRRestService/oauth2/v1/token`, client "
    "credentials); use **Authorize** with a client registration's ID and secret. The token's "
    "operator and its access group decide what each call may do."
)


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.db_url, settings.threads)
    metrics.enable()
    metrics.watch_engine(engine)
    factory = session_factory(engine)
    keys = KeyRing(factory, settings)
    audit = BatchedAudit(factory, capacity=settings.audit_buffer)
    server = AuthorizationServer(settings, factory, keys, audit)
    for grant in GRANTS:
        server.register_grant(grant)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    return Runtime(server, engine, RemoteClient(settings, keys))


def create_app(settings: Settings) -> FastAPI:
    versions.forget_all()  # what the process kept was another database's, or another state's
    runtime = build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.keys.load()
        runtime.audit.start()
        # database work runs in threads; a few threads beat anyio's 40, which contend for
        # the GIL (measured: 2 threads gave +30 % tokens/s and a third of the p99 latency)
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield
        runtime.audit.stop()
        runtime.remote.close()
        if runtime.pg is not None:  # the fast fronts' PostgreSQL reader
            runtime.pg.close()
        runtime.engine.dispose()

    app = App(title="casegate", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None, description=DESCRIPTION,
                  # casegate has its own metrics (/metrics) and log; FastAPI's OpenTelemetry
                  # hook otherwise looks up the providers on every request (~2 % of a token)
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.runtime = runtime
    app.include_router(oauth_routes.router)
    app.include_router(cases_v1.router)
    app.include_router(cases_v2.router)
    app.include_router(health.router)
    app.include_router(scrape.router)
    app.include_router(authorize.router)
    app.include_router(logout.router)
    app.include_router(userinfo.router)
    app.include_router(browser.router)
    app.include_router(admin.router)
    app.include_router(denylist_api.router)
    docs.install(app)
    install_error_handlers(app)
    app.add_middleware(Methods, routes=app.router.routes)
    app.add_middleware(Guard, max_body=settings.max_body_bytes, https=not settings.http)
    return app


class App(FastAPI):
    """FastAPI, with the common case of the token endpoint, of introspection and of POST
    /cases answered in front of its middleware (web/fast_path.py, with Guard's headers and
    body limit; unless CASEGATE_FAST_PATHS=off), and control characters refused in front of
    all (web/input_check.py)."""

    def build_middleware_stack(self) -> ASGIApp:
        runtime: Runtime = self.state.runtime
        app: ASGIApp = super().build_middleware_stack()
        if runtime.settings.fast_paths:
            app = FastCreateCase(FastToken(app, runtime), runtime)
            app = FastIntrospect(app, runtime)
        app = AccessLog(RefuseControlCharacters(app, https=not runtime.settings.http),
                                 [metrics.request_done])
        proxies = [p.strip() for p in runtime.settings.trusted_proxies.split(",") if p.strip()]
        if proxies:
            # only a configured proxy's X-Forwarded-For is believed (the address nearest to
            # casegate that is not a trusted proxy): the throttle, the log and /metrics then
            # see the real caller, and anyone else's X-Forwarded-For is ignored
            app = cast(ASGIApp, ProxyHeadersMiddleware(
                app, trusted_hosts=proxies))  # type: ignore[arg-type]
        return app


def install_error_handlers(app: FastAPI) -> None:
    """Each surface answers errors in its own shape; this is the one place that decides."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if isinstance(exc, deps.BearerRefused) and not request.url.path.startswith(API_PREFIX):
            return exc.oauth_response()  # userinfo: RFC 6750's JSON, not Pega's envelope
        return api_error_response(exc)

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CasegateError)
        return domain_error_response(exc)

    async def refused_first(request: Request) -> Response | None:
        """The bearer token and its scope before the body (web/deps.py): for a request
        FastAPI refused before the route's dependencies ran."""
        try:
            await deps.authorize_first(request)
        except ApiError as refused:
            return api_error_response(refused)
        return None

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(API_PREFIX):
            refused = await refused_first(request)
            if refused is not None:
                return refused
        return envelope(400, describe(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith(API_PREFIX):
            if exc.status_code == 400:  # a body FastAPI could not decode (not UTF-8)
                refused = await refused_first(request)
                if refused is not None:
                    return refused
            return envelope(exc.status_code, str(exc.detail), dict(exc.headers or {}))
        return JSONResponse({"error": "not_found" if exc.status_code == 404 else "invalid_request",
                             "error_description": str(exc.detail)},
                            status_code=exc.status_code, headers=exc.headers)

    async def remote_failure(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RemoteFailure)
        return envelope(exc.status, exc.message)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RemoteFailure, remote_failure)
    for kind in STATUS:  # a bare CasegateError stays a bug (500)
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)


def describe(exc: RequestValidationError) -> str:
    """Name the failing field, never echo the value."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "the body is not valid JSON"
    if kind == "extra_forbidden":
        return f"unknown field {where}"
    if kind == "missing":
        return f"{where or 'the body'} is required"
    return f"{where or 'body'}: {first.get('msg', 'invalid')}"
