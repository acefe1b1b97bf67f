"""The pages of the authorization endpoint: sign-in and consent, around the endpoint's rules
(oauth/authorize.py).

Every form carries a CSRF token bound to a cookie; every page forbids framing and third-party
content (RFC 9700 §4.16, §4.2.4) and is never cached."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from casegate.access import signin
from casegate.oauth import authorize, metadata
from casegate.oauth.authorize import AuthRequest, PageError, RedirectError
from casegate.storage.db import transaction
from casegate.storage.models import Operator
from casegate.web.browser import (
    address,
    checked_form,
    message,
    page,
    redirect,
    runtime,
    signed_in,
    start_session,
)
from casegate.web.runtime import Runtime

router = APIRouter(include_in_schema=False)
SIGNIN = metadata.AUTHORIZE + "/signin"
CONSENT = metadata.AUTHORIZE + "/consent"
SCOPE_TEXT = {
    "cases": "create, read and update cases as you",
    "casetypes": "see the case types you may use",
    "openid": "know who you are (your operator ID)",
    "profile": "see your name",
}


@router.get(metadata.AUTHORIZE)
async def authorize_get(request: Request) -> Response:
    rt = runtime(request)
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
    rt = runtime(request)
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
                                         address(request), "signin page")
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
    rt = runtime(request)
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
