"""What every console page shares: the signed-in administrator, rendering, forms and their
errors, and writes audited with the administrator as actor."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException

from casegate.access.privileges import is_administrator
from casegate.audit import ACTOR
from casegate.errors import CasegateError, Conflict, Invalid, NotFound
from casegate.storage.db import transaction
from casegate.text import has_control
from casegate.web import browser
from casegate.web.runtime import Runtime

ROOT = "/admin"
ASSETS = ROOT + "/assets"
SIGNIN = ROOT + "/signin"
COOKIE = "casegate_admin"
TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
# a client registration has about twenty-five fields; a role or an identity mapping one
# checkbox per case type or access group: room for a few hundred of those
MAX_FIELDS = 400
# a JWKS, a PEM certificate or a credentials file: a few kilobytes each
MAX_FILES = 4
MAX_FILE = 256 * 1024


def when(at: float | None) -> str:
    if not at:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


ENV.filters["when"] = when


def segment(key: str) -> str:
    """A record's key as one URL path segment: `/`, `?`, `#` and `%` in an operator ID or a
    name stay part of it (the routes take the rest of the path)."""
    return quote(key, safe="@:")


ENV.filters["segment"] = segment


@dataclass(frozen=True)
class Record:
    """One entry of the console's navigation: a records page."""

    title: str
    path: str


# filled by web/admin/__init__.py from each records module
NAVIGATION: list[Record] = []


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def render(rt: Runtime, request: Request, template: str, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    return browser.secure_page(
        rt, request, lambda csrf: ENV.get_template(template).render(
            assets=ASSETS, root=ROOT, csrf=csrf, navigation=NAVIGATION,
            path=request.url.path, **context), status, headers=headers)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@dataclass
class Console:
    """One request of a signed-in administrator."""

    rt: Runtime
    request: Request
    admin: str
    form: dict[str, str] = field(default_factory=dict)

    def page(self, template: str, status: int = 200, headers: dict[str, str] | None = None,
             **context: Any) -> HTMLResponse:
        return render(self.rt, self.request, template, status, headers, admin=self.admin,
                      **context)

    def message(self, title: str, text: str, status: int = 200) -> HTMLResponse:
        return self.page("message.html", status, title=title, message=text,
                         error=status >= 400)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self.rt.factory() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One transaction; every event the services record names the administrator."""
        with transaction(self.rt.factory) as session:
            session.info[ACTOR] = self.admin
            yield session

    def attempt(self, change: Callable[[Session], Response],
                again: Callable[[dict[str, str]], Response], conflict: str = "name"
                ) -> Response:
        """The change in one transaction, or (a rule refused a value) nothing saved and the
        form shown again with the message next to its field."""
        try:
            with self.writing() as session:
                return change(session)
        except CasegateError as exc:
            return again(field_errors(exc, conflict))
        except IntegrityError as exc:
            # another administrator saved the same name (or removed what this refers to)
            # between the service's check and this commit: the database's constraint decides
            return again({conflict: "already exists: it was saved a moment ago"}
                         if _unique_violation(exc) else
                         {"form": "Something this change refers to was changed meanwhile; "
                                  "nothing was saved. Open the page again."})

    def text(self, name: str, limit: int = 2000) -> str:
        return self.form.get(name, "").strip()[:limit]

    def lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.form.get(name, "").splitlines() if line.strip()]

    def words(self, name: str) -> list[str]:
        return self.form.get(name, "").split()

    def checked(self, name: str) -> bool:
        return self.form.get(name) == "on"


def _unique_violation(exc: IntegrityError) -> bool:
    # PostgreSQL's unique_violation; SQLite says it in words
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE" in str(exc.orig)


def field_errors(exc: CasegateError, conflict: str = "name") -> dict[str, str]:
    """A service's refusal as {field: message}; the fields are the services' own names."""
    if isinstance(exc, Invalid):
        return {exc.field.replace(" ", "-"): exc.message.removeprefix(f"{exc.field}: ")}
    if isinstance(exc, NotFound):
        return {exc.what.replace(" ", "-"): exc.message}
    if isinstance(exc, Conflict):
        return {conflict: exc.message}
    return {"form": exc.message}


def number(value: str) -> object:
    """A form's digits as an int; anything else goes to the service as it is, to be refused
    there by the one rule."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else value


Handler = Callable[..., Response]


async def view(request: Request, handler: Handler, *args: Any) -> Response:
    """A page for a signed-in administrator; anyone else is sent to sign in."""
    rt = runtime(request)
    return await run_in_threadpool(_call, rt, request, handler, None, args)


async def action(request: Request, handler: Handler, *args: Any) -> Response:
    """A form post of a signed-in administrator, after its CSRF token is checked."""
    rt = runtime(request)
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        form = await _with_files(request)
        form = form if form is not None and browser.csrf_ok(rt, request, form) else None
    else:
        form = await browser.checked(rt, request, MAX_FIELDS)
    if form is None:
        return render(rt, request, "message.html", 403, title="This form has expired",
                      message="Open the page again and repeat the change.", error=True)
    return await run_in_threadpool(_call, rt, request, handler, form, args)


async def _with_files(request: Request) -> dict[str, str] | None:
    """A form with file fields (keys, certificates), each file read as UTF-8 text; by the rules
    of a urlencoded form (each name once, no control characters but line breaks)."""
    try:
        posted = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS,
                                    max_part_size=MAX_FILE)
        pairs = []
        for name, value in posted.multi_items():
            if isinstance(value, str):
                pairs.append((name, value))
                continue
            content = await value.read(MAX_FILE + 1)
            if len(content) > MAX_FILE:
                return None
            pairs.append((name, content.decode("utf-8")))
    except (ValueError, UnicodeDecodeError, MultiPartException):
        return None
    form = dict(pairs)
    if len(form) != len(pairs) or any(
            has_control(k) or has_control(v.replace("\r\n", "\n").replace("\n", ""))
            for k, v in pairs):
        return None
    return form


def _call(rt: Runtime, request: Request, handler: Handler, form: dict[str, str] | None,
          args: tuple[Any, ...]) -> Response:
    with rt.factory() as session:
        current = browser.signed_in(rt, session, request, COOKIE)
        admin = current[0].id if current and is_administrator(session, current[0]) else None
    if admin is None:
        back = request.url.path if request.method == "GET" else ROOT + "/"
        return see_other(f"{SIGNIN}?next={quote(back)}")
    console = Console(rt, request, admin, form or {})
    try:
        return handler(console, *args)
    except NotFound as exc:
        return console.message("Not found", exc.message, 404)


def now() -> float:
    return time.time()


def confirm(con: Console, what: str, back: str, refusal: str = "") -> Response:
    """The page that asks before a record is deleted (and says why it was refused)."""
    return con.page("confirm.html", 409 if refusal else 200, title=f"Delete {what}",
                    what=what, back=back, errors={"form": refusal} if refusal else {},
                    action=quote(con.request.url.path))


def delete(con: Console, what: str, back: str, done: str,
           remove: Callable[[Session], None]) -> Response:
    """The confirmed delete, in one transaction; refused (the record is in use): the reason
    on the confirmation page, nothing changed."""
    def change(session: Session) -> Response:
        remove(session)
        return see_other(done)

    return con.attempt(change, lambda errors: confirm(con, what, back,
                                                      next(iter(errors.values()))), "form")


def delete_routes(router: APIRouter, base: str, noun: str, get: Callable[[Session, str], object],
                  remove: Callable[..., None]) -> None:
    """GET and POST {base}/delete/{name}: the confirmation page and the confirmed delete of one
    named record. Call it before the record's own {base}/{name} routes, which would match too."""
    def ask(con: Console, name: str) -> Response:
        with con.reading() as session:
            get(session, name)  # an unknown name: 404 before any question
        return confirm(con, f"{noun} {name!r}", f"{base}/{segment(name)}")

    def confirmed(con: Console, name: str) -> Response:
        return delete(con, f"{noun} {name!r}", f"{base}/{segment(name)}", f"{base}?done=deleted",
                      lambda session: remove(session, name, actor=con.admin))

    async def ask_delete(request: Request, name: str) -> Response:
        return await view(request, ask, name)

    async def delete_record(request: Request, name: str) -> Response:
        return await action(request, confirmed, name)

    router.add_api_route(base + "/delete/{name:path}", ask_delete, methods=["GET"])
    router.add_api_route(base + "/delete/{name:path}", delete_record, methods=["POST"])
