"""The pages a person sees: sign-in and consent at the authorization endpoint, sign-out
(OpenID Connect RP-Initiated Logout 1.0), and `/userinfo`.

Every form carries a CSRF token bound to a cookie; every page forbids framing and third-party
content (RFC 9700 §4.16, §4.2.4) and is never cached."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from casegate import audit
from casegate.access import signin
from casegate.oauth import authorize, bearer, metadata
from casegate.oauth.authorize import AuthRequest, PageError, RedirectError
from casegate.storage.db import transaction
from casegate.storage.models import ClientRegistration, Operator
from casegate.web import browser
from casegate.web.deps import BearerRefused, bearer_token, challenge
from casegate.web.runtime import Runtime

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
ASSETS = "/prweb/PRRestService/oauth2/v1/assets"
SIGNIN = metadata.AUTHORIZE + "/signin"
CONSENT = metadata.AUTHORIZE + "/consent"
SCOPE_TEXT = {
    "cases": "create, read and update cases as you",
    "casetypes": "see the case types you may use",
    "openid": "know who you are (your operator ID)",
    "profile": "see your name",
}


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


# -- rendering -------------------------------------------------------------------------------
def page(rt: Runtime, request: Request, template: str, status: int = 200,
         redirect_to: str | None = None, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    return browser.secure_page(
        rt, request, lambda csrf: ENV.get_template(template).render(assets=ASSETS, csrf=csrf,
                                                                    **context),
        status, redirect_to, headers)


def message(rt: Runtime, request: Request, title: str, text: str, status: int,
            headers: dict[str, str] | None = None) -> HTMLResponse:
    return page(rt, request, "message.html", status, title=title, message=text,
                error=status >= 400, headers=headers)


def redirect(url: str, status: int = 302) -> RedirectResponse:
    return RedirectResponse(url, status_code=status, headers={"Cache-Control": "no-store"})


async def checked_form(rt: Runtime, request: Request,
                       again: str = "Go back to the application and start again."
                       ) -> dict[str, str] | Response:
    """A page's form as posted, or the 403 page when it is not one of ours (CSRF)."""
    form = await browser.checked(rt, request)
    if form is None:
        return message(rt, request, "This form has expired", again, 403)
    return form


signed_in = browser.signed_in
start_session = browser.start_session


# -- the authorization endpoint ------------------------------------------------------------------
@router.get(metadata.AUTHORIZE)
async def authorize_get(request: Request) -> Response:
    rt = _runtime(request)
    query = request.url.query
    return await run_in_threadpool(_authorize, rt, request, query)


def _authorize(rt: Runtime, request: Request, query: str,
               consented: bool = False) -> Response:
    settings = rt.settings
    try:
        with transaction(rt.factory) as session:
            auth = authorize.parse(session, settings, query)
            current = signed_in(rt, session, request)
            fresh_enough = current is not None and (
                auth.max_age is None or time.time() - current[1] <= auth.max_age)
            if current is None or "login" in auth.prompt or not fresh_enough:
                if "none" in auth.prompt:
                    raise RedirectError(auth, "login_required", "the person is not signed in")
                return _signin_page(rt, request, auth, "", "", 200)
            operator, auth_time = current
            scope = authorize.granted_scope(session, auth, operator)
            if not consented and ("consent" in auth.prompt or not authorize.has_consent(
                    session, operator, auth.client, scope)):
                if "none" in auth.prompt:
                    raise RedirectError(auth, "consent_required", "consent is needed")
                return _consent_page(rt, request, auth, operator, scope)
            if consented:
                authorize.remember_consent(session, operator, auth.client, scope)
            url = authorize.issue_code(session, settings, auth, operator, scope, auth_time)
        return redirect(url, 303 if consented else 302)
    except PageError as exc:
        return message(rt, request, "This sign-in cannot go on", str(exc), 400)
    except RedirectError as exc:
        rt.audit.add("authorize.refused", outcome="refused", error=exc.error,
                     subject=exc.client_id)
        return redirect(authorize.error_url(exc, settings), 303 if consented else 302)


def _signin_page(rt: Runtime, request: Request, auth: AuthRequest, username: str,
                 error: str, status: int, headers: dict[str, str] | None = None
                 ) -> HTMLResponse:
    return page(rt, request, "signin.html", status, redirect_to=auth.redirect_uri,
                headers=headers, title="Sign in", client_name=auth.client.name,
                action=SIGNIN, request_query=auth.query, username=username, error=error)


def _consent_page(rt: Runtime, request: Request, auth: AuthRequest, operator: Operator,
                  scope: str) -> HTMLResponse:
    shown = [(name, SCOPE_TEXT.get(name, "use this scope")) for name in scope.split()]
    return page(rt, request, "consent.html", redirect_to=auth.redirect_uri,
                title="Allow access?", client_name=auth.client.name,
                application=auth.client.application, operator=operator.id, scopes=shown,
                redirect_host=urlsplit(auth.redirect_uri).netloc, action=CONSENT,
                request_query=auth.query)


def _without_login_prompt(query: str) -> str:
    """After signing in, prompt=login has been honoured: asking again would loop."""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = []
    for name, value in pairs:
        if name == "prompt":
            value = " ".join(v for v in value.split() if v != "login")
            if not value:
                continue
        kept.append((name, value))
    return urlencode(kept)


@router.post(SIGNIN)
async def signin_post(request: Request) -> Response:
    rt = _runtime(request)
    form = await checked_form(rt, request)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_signin, rt, request, form)


def _signin(rt: Runtime, request: Request, form: dict[str, str]) -> Response:
    query = form.get("request", "")
    auth = _reparse(rt, request, query)
    if isinstance(auth, Response):
        return auth
    username = form.get("username", "").strip()[:128]
    try:
        operator = signin.check_password(rt.factory, username, form.get("password", ""),
                                         _address(request), "signin page")
    except signin.Throttled as exc:
        minutes = max(1, round(exc.wait / 60))
        return _signin_page(rt, request, auth, username,
                            f"Too many failed sign-ins. Try again in about {minutes} "
                            "minute(s).", 429, {"Retry-After": str(exc.wait)})
    except signin.SignInFailed:
        return _signin_page(rt, request, auth, username,
                            "The operator ID or the password is wrong.", 401)
    # RFC 9700 §4.12: 303, so the browser does not post the password again
    response = redirect(metadata.AUTHORIZE + "?" + _without_login_prompt(query), 303)
    start_session(rt, operator.id, response)
    return response


@router.post(CONSENT)
async def consent_post(request: Request) -> Response:
    rt = _runtime(request)
    form = await checked_form(rt, request)
    if isinstance(form, Response):
        return form
    query = form.get("request", "")
    if form.get("decision") == "allow":
        return await run_in_threadpool(_authorize, rt, request, query, True)
    return await run_in_threadpool(_deny, rt, request, query)


def _reparse(rt: Runtime, request: Request, query: str) -> AuthRequest | Response:
    """A form carries its authorization request along; it is checked again in full."""
    try:
        with rt.factory() as session:
            return authorize.parse(session, rt.settings, query)
    except PageError as exc:
        return message(rt, request, "This sign-in cannot go on", str(exc), 400)
    except RedirectError as exc:
        return redirect(authorize.error_url(exc, rt.settings), 303)


def _deny(rt: Runtime, request: Request, query: str) -> Response:
    auth = _reparse(rt, request, query)
    if isinstance(auth, Response):
        return auth
    denied = RedirectError(auth, "access_denied", "the person did not allow access")
    return redirect(authorize.error_url(denied, rt.settings), 303)


# -- sign-out ----------------------------------------------------------------------------------
def _logout_target(rt: Runtime, session: Session, params: dict[str, str]) -> str | None:
    """Where to send the browser after signing out, if the client registered it exactly."""
    uri = params.get("post_logout_redirect_uri")
    if uri is None:
        return None
    client_id = params.get("client_id") or _hinted_client(rt, params.get("id_token_hint", ""))
    client = session.get(ClientRegistration, client_id) if client_id else None
    if client is None or uri not in client.post_logout_redirect_uris:
        raise PageError("The application asked to send you to an address that is not "
                        "registered for it.")
    state = params.get("state")
    if state is not None:
        uri += ("&" if urlsplit(uri).query else "?") + urlencode({"state": state})
    return uri


def _hinted_client(rt: Runtime, hint: str) -> str | None:
    """The client an ID token of ours was issued to (an expired one still names it)."""
    try:
        _, claims = bearer.verify_signature(rt.keys, hint, types=("jwt",))
    except bearer.InvalidToken:
        return None
    if claims.get("iss") != rt.settings.base_url:
        return None
    aud = claims.get("aud")
    return aud if isinstance(aud, str) else None


@router.get(metadata.LOGOUT)
async def logout_get(request: Request) -> Response:
    rt = _runtime(request)
    try:
        params = authorize.parse_query(request.url.query)
    except PageError as exc:
        return message(rt, request, "Sign out", str(exc), 400)
    return await run_in_threadpool(_logout_page, rt, request, params)


def _logout_page(rt: Runtime, request: Request, params: dict[str, str]) -> Response:
    with rt.factory() as session:
        try:
            target = _logout_target(rt, session, params)
        except PageError as exc:
            return message(rt, request, "Sign out", str(exc), 400)
        current = signed_in(rt, session, request)
    kept = [(n, params[n]) for n in ("post_logout_redirect_uri", "client_id", "id_token_hint",
                                     "state") if n in params]
    return page(rt, request, "logout.html", redirect_to=target, title="Sign out",
                operator=current[0].id if current else "", action=metadata.LOGOUT, hidden=kept)


@router.post(metadata.LOGOUT)
async def logout_post(request: Request) -> Response:
    rt = _runtime(request)
    form = await checked_form(rt, request, "Sign out again.")
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_logout, rt, request, form)


def _logout(rt: Runtime, request: Request, form: dict[str, str]) -> Response:
    with transaction(rt.factory) as session:
        try:
            target = _logout_target(rt, session, form)
        except PageError as exc:
            return message(rt, request, "Sign out", str(exc), 400)
        ended = browser.end_session(rt, session, request)
        if ended is not None:
            audit.record(session, "signin.ended", actor=ended)
    response: Response = redirect(target, 303) if target else message(
        rt, request, "Signed out", "You are signed out of casegate.", 200)
    browser.forget_cookie(rt, response, browser.SESSION_COOKIE)
    return response


# -- userinfo and assets -----------------------------------------------------------------------
def _bearer_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers=challenge(error, description) | {"Cache-Control": "no-store"})


@router.api_route(metadata.USERINFO, methods=["GET", "POST"])
async def userinfo(request: Request) -> Response:
    """OpenID Connect Core §5.3: who the access token's person is."""
    rt = _runtime(request)
    try:
        token = bearer_token(request)
    except BearerRefused as exc:  # the same refusals as the case API, in RFC 6750's shape
        return JSONResponse({"error": exc.error or "invalid_request",
                             "error_description": exc.description}, status_code=exc.status,
                            headers=exc.headers | {"Cache-Control": "no-store"})
    return await run_in_threadpool(_userinfo, rt, token)


def _userinfo(rt: Runtime, token: str) -> Response:
    settings = rt.settings
    try:
        with rt.factory() as session:
            principal = bearer.authenticate(session, rt.keys, settings.base_url,
                                            settings.api_audience, token, settings.clock_skew)
    except bearer.InvalidToken:
        return _bearer_error(401, "invalid_token", "the access token is invalid")
    if "openid" not in principal.scope:
        return _bearer_error(403, "insufficient_scope", "the openid scope is needed")
    claims: dict[str, Any] = {"sub": principal.operator.id}
    if "profile" in principal.scope:
        claims["name"] = principal.operator.name
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})


@router.get(ASSETS + "/casegate.css")
def stylesheet() -> FileResponse:
    return FileResponse(TEMPLATES / "casegate.css", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})
