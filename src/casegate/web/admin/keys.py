"""Records → Security → Signing keys: the keys that sign access tokens, and rotation
(oauth/keys.py). Private parts are never shown."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from casegate import audit
from casegate.crypto import Sealer
from casegate.oauth import keys
from casegate.storage.models import SigningKey
from casegate.web.admin.core import ROOT, Console, Record, action, see_other, view

RECORD = Record("Signing keys", ROOT + "/keys")
BASE = RECORD.path
router = APIRouter()


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    with con.reading() as session:
        rows = list(session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())))
    notice = ("A new key signs from now on; the old ones stay published for their tokens."
              if con.request.query_params.get("done") == "rotated" else "")
    return con.page("keys.html", title="Signing keys", rows=rows, notice=notice, base=BASE,
                    alg=con.rt.settings.signing_alg)


@router.post(BASE + "/rotate")
async def rotate(request: Request) -> Response:
    return await action(request, _rotate)


def _rotate(con: Console) -> Response:
    with con.writing() as session:
        settings = con.rt.settings
        made = keys.rotate(session, settings, Sealer(settings.hmac_key()))
        assert made is not None  # not conditional: only `replacing=` may find nothing to do
        audit.record(session, "key.rotated", subject=made.kid, alg=made.alg)
    con.rt.keys.load()  # this process signs with it at once; others within their reload
    return see_other(f"{BASE}?done=rotated")
