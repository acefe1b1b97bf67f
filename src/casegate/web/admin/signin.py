"""Signing in to the console: a person operator whose access group holds the administrator
privilege, checked and throttled exactly as at the authorization pages (access.signin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from casegate import audit
from casegate.access import signin
from casegate.access.privileges import is_administrator
from casegate.storage.db import transaction
from casegate.web import browser
from casegate.web.admin.core import (
    ASSETS,
    COOKIE,
    ROOT,
    SIGNIN,
    TEMPLATES,
    render,
    runtime,
    see_other,
)
from casegate.web.runtime import Runtime

router = APIRouter()
WRONG = "The operator ID or the password is wrong, or the operator is not an administrator."


def _next(value: str) -> str:
    """Only a console page of this server: never another site (no open redirect)."""
    if value.startswith(ROOT + "/") and "//" not in value and "\\" not in value:
        return value
    return ROOT + "/"


def _page(rt: Runtime, request: Request, username: str = "", error: str = "",
          status: int = 200, headers: dict[str, str] | None = None, nxt: str = ""
          ) -> Response:
    return render(rt, request, "signin.html", status, headers, title="Sign in to the console",
                  username=username, error=error, next=_next(nxt), action=SIGNIN)


@router.get(SIGNIN)
async def signin_form(request: Request) -> Response:
    return _page(runtime(request), request, nxt=request.query_params.get("next", ""))


@router.post(SIGNIN)
async def signin_post(request: Request) -> Response:
    rt = runtime(request)
    form = await browser.checked(rt, request)
    if form is None:
        return render(rt, request, "message.html", 403, title="This form has expired",
                      message="Open the sign-in page again.", error=True)
    return await run_in_threadpool(_signin, rt, request, form)


def _signin(rt: Runtime, request: Request, form: dict[str, str]) -> Response:
    username = form.get("username", "").strip()[:128]
    nxt = form.get("next", "")
    address = request.client.host if request.client else ""
    try:
        operator = signin.check_password(rt.factory, username, form.get("password", ""),
                                         address, "admin console")
    except signin.Throttled as exc:
        minutes = max(1, round(exc.wait / 60))
        return _page(rt, request, username, f"Too many failed sign-ins. Try again in about "
                     f"{minutes} minute(s).", 429, {"Retry-After": str(exc.wait)}, nxt)
    except signin.SignInFailed:
        return _page(rt, request, username, WRONG, 401, nxt=nxt)
    with transaction(rt.factory) as session:
        allowed = is_administrator(session, operator)
        if not allowed:
            audit.record(session, "admin.refused", actor=operator.id, outcome="refused",
                         reason="not an administrator")
    if not allowed:
        return _page(rt, request, username, WRONG, 403, nxt=nxt)
    # a new session on every sign-in: a cookie planted before it is worth nothing
    response = see_other(_next(nxt))
    browser.start_session(rt, operator.id, response, COOKIE,
                          rt.settings.admin_session_lifetime, "strict")
    return response


@router.post(ROOT + "/signout")
async def signout(request: Request) -> Response:
    rt = runtime(request)
    form = await browser.checked(rt, request)
    if form is None:
        return render(rt, request, "message.html", 403, title="This form has expired",
                      message="Open the console again and sign out.", error=True)
    return await run_in_threadpool(_signout, rt, request)


def _signout(rt: Runtime, request: Request) -> Response:
    with transaction(rt.factory) as session:
        ended = browser.end_session(rt, session, request, COOKIE)
        if ended is not None:
            audit.record(session, "admin.signed_out", actor=ended)
    response = render(rt, request, "message.html", title="Signed out",
                      message="You are signed out of the casegate console.", signin=SIGNIN)
    browser.forget_cookie(rt, response, COOKIE)
    return response


@router.get(ASSETS + "/admin.css")
def stylesheet() -> FileResponse:
    return FileResponse(TEMPLATES / "admin.css", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})
