"""Records → Security → Deny list: suspicious tokens, why and by whom (oauth/denylist.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from casegate.oauth import denylist
from casegate.web.admin.core import ROOT, Console, Record, action, see_other, view

RECORD = Record("Deny list", ROOT + "/denylist")
BASE = RECORD.path
router = APIRouter()


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _page)


def _page(con: Console, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        rows = denylist.listed(session)
    notice = ("Denied: the token fails at its next request."
              if con.request.query_params.get("done") == "denied" else "")
    return con.page("denylist.html", 400 if errors else 200, title="Deny list", rows=rows,
                    values=values or {}, errors=errors or {}, notice=notice, base=BASE)


@router.post(BASE)
async def add(request: Request) -> Response:
    return await action(request, _add)


def _add(con: Console) -> Response:
    values = {"token": con.text("token", 4096), "reason": con.text("reason", 200)}

    def change(session: Session) -> Response:
        denylist.add_suspicious(session, con.rt.keys, values["token"], values["reason"],
                                actor=con.admin)
        return see_other(f"{BASE}?done=denied")

    return con.attempt(change, lambda errors: _page(con, values, errors), "token")
