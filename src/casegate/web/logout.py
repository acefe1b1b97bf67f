"""Sign-out: OpenID Connect RP-Initiated Logout 1.0, a page with a form (CSRF-checked)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from casegate import audit
from casegate.oauth import authorize, bearer, metadata
from casegate.oauth.authorize import PageError
from casegate.storage.db import transaction
from casegate.storage.models import ClientRegistration
from casegate.web import browser
from casegate.web.browser import checked_form, message, page, redirect, runtime, signed_in
from casegate.web.runtime import Runtime

router = APIRouter(include_in_schema=False)


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
    rt = runtime(request)
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
    rt = runtime(request)
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
