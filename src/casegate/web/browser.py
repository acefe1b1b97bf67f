"""What every page casegate shows a browser shares: cookies, the CSRF token of each form, the
headers of a page (CSP, no framing, never cached), sign-in sessions, and the templates of the
pages a person sees (web/authorize.py, web/logout.py) with their stylesheet.

Used by those pages and the admin console (web/admin/): one implementation of each decision."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import delete
from sqlalchemy.orm import Session

from casegate import crypto
from casegate.storage.db import transaction
from casegate.storage.models import Operator, SignInSession
from casegate.text import has_control
from casegate.web.runtime import Runtime

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
ASSETS = "/prweb/PRRestService/oauth2/v1/assets"
CSRF_COOKIE = "casegate_csrf"


# -- cookies and CSRF ------------------------------------------------------------------------
def cookie_name(rt: Runtime, name: str) -> str:
    # __Host-: only this origin, path /, Secure: no subdomain or plain-HTTP page can set it
    return name if rt.settings.http else f"__Host-{name}"


def set_cookie(rt: Runtime, response: Response, name: str, value: str, max_age: int | None,
               samesite: str) -> None:
    response.set_cookie(cookie_name(rt, name), value, max_age=max_age, path="/", httponly=True,
                        secure=not rt.settings.http, samesite=samesite)  # type: ignore[arg-type]


def forget_cookie(rt: Runtime, response: Response, name: str) -> None:
    response.delete_cookie(cookie_name(rt, name), path="/", secure=not rt.settings.http,
                           httponly=True)


def csrf_for(rt: Runtime, cookie: str) -> str:
    return hmac.new(rt.hmac_key, b"csrf|" + cookie.encode(), hashlib.sha256).hexdigest()


def _csrf_cookie(rt: Runtime, request: Request) -> str:
    value = request.cookies.get(cookie_name(rt, CSRF_COOKIE), "")
    if 20 <= len(value) <= 100 and not has_control(value):
        return value
    return secrets.token_urlsafe(32)


def csrf_ok(rt: Runtime, request: Request, form: dict[str, str]) -> bool:
    cookie = request.cookies.get(cookie_name(rt, CSRF_COOKIE), "")
    origin = request.headers.get("origin")
    # under our Referrer-Policy no-referrer a browser posts the forms with `Origin: null`
    # (Fetch, "serializing a request origin"): only another site's origin is refused here
    if origin not in (None, "null") and origin != origin_of(rt.settings.base_url):
        return False
    return bool(cookie) and crypto.equal(csrf_for(rt, cookie), form.get("csrf", ""))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def read_page_form(request: Request, max_fields: int = 20) -> dict[str, str] | None:
    """A urlencoded form with each name once and no control characters, or None."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return None
    try:
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True,
                          max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    # a textarea's line breaks are the one control character a form may carry
    if len(form) != len(pairs) or any(has_control(k) or has_control(v.replace("\r\n", "\n")
                                                                     .replace("\n", ""))
                                      for k, v in pairs):
        return None
    return form


async def checked(rt: Runtime, request: Request, max_fields: int = 20) -> dict[str, str] | None:
    """The form as posted when it is one of ours (CSRF token and origin), else None."""
    form = await read_page_form(request, max_fields)
    if form is None or not csrf_ok(rt, request, form):
        return None
    return form


# -- a page's response ---------------------------------------------------------------------------
def secure_page(rt: Runtime, request: Request, render: Callable[[str], str], status: int = 200,
                redirect_to: str | None = None, headers: dict[str, str] | None = None
                ) -> HTMLResponse:
    """render(csrf token) as a page no other site may frame, script or cache."""
    csrf_cookie = _csrf_cookie(rt, request)
    html = render(csrf_for(rt, csrf_cookie))
    # Chromium applies form-action to the redirects that follow a form post as well
    targets = "'self'" + (f" {origin_of(redirect_to)}" if redirect_to else "")
    csp = (f"default-src 'none'; style-src 'self'; img-src 'self'; form-action {targets}; "
           "frame-ancestors 'none'; base-uri 'none'")
    response = HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": csp, "Cache-Control": "no-store", **(headers or {})})
    set_cookie(rt, response, CSRF_COOKIE, csrf_cookie, None, "strict")
    return response


# -- sign-in sessions --------------------------------------------------------------------------
SESSION_COOKIE = "casegate_session"


def signed_in(rt: Runtime, session: Session, request: Request, cookie: str = SESSION_COOKIE
              ) -> tuple[Operator, float] | None:
    value = request.cookies.get(cookie_name(rt, cookie), "")
    if not value or len(value) > 100:
        return None
    row = session.get(SignInSession, crypto.digest(value))
    if row is None or row.expires_at <= time.time():
        return None
    operator = session.get(Operator, row.operator_id)
    # disabling an operator or changing the password ends their sessions too
    if operator is None or not operator.enabled or row.auth_time < operator.not_before:
        return None
    return operator, row.auth_time


def start_session(rt: Runtime, operator_id: str, response: Response,
                  cookie: str = SESSION_COOKIE, lifetime: int | None = None,
                  samesite: str = "lax") -> None:
    value = secrets.token_urlsafe(32)
    now = time.time()
    lifetime = lifetime or rt.settings.session_lifetime
    with transaction(rt.factory) as session:
        session.execute(delete(SignInSession).where(SignInSession.expires_at < now))
        session.add(SignInSession(id_hash=crypto.digest(value), operator_id=operator_id,
                                  auth_time=now, expires_at=now + lifetime))
    set_cookie(rt, response, cookie, value, lifetime, samesite)


def end_session(rt: Runtime, session: Session, request: Request,
                cookie: str = SESSION_COOKIE) -> str | None:
    """Deletes the browser's session; the operator it was, if any."""
    value = request.cookies.get(cookie_name(rt, cookie), "")
    row = session.get(SignInSession, crypto.digest(value)) if value else None
    if row is None:
        return None
    session.delete(row)
    return row.operator_id


# -- the pages a person sees ------------------------------------------------------------------
def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def page(rt: Runtime, request: Request, template: str, status: int = 200,
         redirect_to: str | None = None, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    return secure_page(
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
    form = await checked(rt, request)
    if form is None:
        return message(rt, request, "This form has expired", again, 403)
    return form


@router.get(ASSETS + "/casegate.css")
def stylesheet() -> FileResponse:
    return FileResponse(TEMPLATES / "casegate.css", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})
