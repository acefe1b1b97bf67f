"""Records → Integration → Remote systems: the producer casegates this one forwards remote
case types to (remote/systems.py, as `casegate remotesystem`). The stored client secret is
never shown again; a new one can be set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from casegate.remote import systems
from casegate.storage.models import RemoteSystem
from casegate.web.admin.core import (
    ROOT,
    Console,
    Record,
    action,
    delete_routes,
    see_other,
    segment,
    view,
)

RECORD = Record("Remote systems", ROOT + "/remotesystems")
BASE = RECORD.path
router = APIRouter()
NOTICES = {"saved": "Remote system saved.", "deleted": "Remote system deleted."}


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    with con.reading() as session:
        rows = [systems.describe(session, s) for s in systems.list_all(session)]
    return con.page("remotesystems/list.html", title="Remote systems", rows=rows, base=BASE,
                    notice=NOTICES.get(con.request.query_params.get("done", ""), ""))


def _values(system: RemoteSystem | None) -> dict[str, Any]:
    if system is None:
        return {"remote-system": "", "url": "", "client-id": "", "token-endpoint": ""}
    return {"remote-system": system.name, "url": system.url, "client-id": system.client_id,
            "token-endpoint": system.token_endpoint}


def _posted(con: Console) -> dict[str, Any]:
    return {"remote-system": con.text("remote-system", 300), "url": con.text("url"),
            "client-id": con.text("client-id", 200),
            "token-endpoint": con.text("token-endpoint")}


def _credentials(con: Console, values: dict[str, Any]) -> dict[str, str] | None:
    """A credentials file uploaded, else the fields typed in; None: no new secret (an edit
    keeps the stored credentials)."""
    uploaded = con.form.get("credentials-upload", "")
    if uploaded.strip():
        return systems.parse_credentials(uploaded)
    secret = con.form.get("client-secret", "").strip()
    if not secret:
        return None
    return {"client id": values["client-id"], "client secret": secret,
            "access token endpoint": values["token-endpoint"]}


def _form(con: Console, system: RemoteSystem | None, values: dict[str, Any],
          errors: dict[str, str] | None = None) -> Response:
    described: dict[str, object] = {}
    if system is not None:
        with con.reading() as session:
            described = systems.describe(session, system)
    return con.page("remotesystems/form.html", 400 if errors else 200,
                    title=system.name if system else "New remote system", system=system,
                    described=described, values=values, errors=errors or {}, base=BASE,
                    action=f"{BASE}/{segment(system.name)}" if system else f"{BASE}/new",
                    notice=NOTICES.get(con.request.query_params.get("done", ""), ""))


@router.get(BASE + "/new")
async def new(request: Request) -> Response:
    return await view(request, lambda con: _form(con, None, _values(None)))


@router.post(BASE + "/new")
async def create(request: Request) -> Response:
    return await action(request, _create)


def _create(con: Console) -> Response:
    values = _posted(con)

    def change(session: Session) -> Response:
        made = systems.create(session, con.rt.hmac_key, values["remote-system"],
                              values["url"], _credentials(con, values) or {},
                              cacert=con.text("cacert", 65536) or None, actor=con.admin)
        return see_other(f"{BASE}/{segment(made.name)}?done=saved")

    return con.attempt(change, lambda errors: _form(con, None, values, errors), "remote-system")


delete_routes(router, BASE, "remote system", systems.get, systems.delete)


@router.get(BASE + "/{name:path}")
async def show(request: Request, name: str) -> Response:
    return await view(request, _show, name)


def _show(con: Console, name: str) -> Response:
    with con.reading() as session:
        system = systems.get(session, name)
    return _form(con, system, _values(system))


@router.post(BASE + "/{name:path}")
async def save(request: Request, name: str) -> Response:
    return await action(request, _save, name)


def _save(con: Console, name: str) -> Response:
    values = _posted(con)
    with con.reading() as session:
        system = systems.get(session, name)

    def change(session: Session) -> Response:
        systems.update(session, con.rt.hmac_key, name, _credentials(con, values),
                       cacert=con.text("cacert", 65536) or None, url=values["url"],
                       actor=con.admin)
        return see_other(f"{BASE}/{segment(name)}?done=saved")

    return con.attempt(change, lambda errors: _form(con, system, values, errors))
