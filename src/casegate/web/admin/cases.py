"""Cases: browse, and open one read-only with its history (from the audit log)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from casegate.cases import case_types
from casegate.storage.db import get_or_raise
from casegate.storage.models import AuditEvent, Case
from casegate.web.admin.core import ROOT, Console, Record, view

RECORD = Record("Cases", ROOT + "/cases")
BASE = RECORD.path
router = APIRouter()
PAGE = 50


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    params = con.request.query_params
    case_type = params.get("type", "")[:200]
    try:
        page = max(1, min(int(params.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    query = select(Case)
    if case_type:
        query = query.where(Case.case_type == case_type)
    with con.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.order_by(Case.created_at.desc(), Case.id)
                                    .offset((page - 1) * PAGE).limit(PAGE)))
        types = [c.id for c in case_types.list_all(session)]
    return con.page("cases/list.html", title="Cases", rows=rows, types=types,
                    case_type=case_type, page=page, total=total,
                    pages=max(1, -(-total // PAGE)), base=BASE)


@router.get(BASE + "/{case_id:path}")
async def show(request: Request, case_id: str) -> Response:
    return await view(request, _show, case_id)


def _show(con: Console, case_id: str) -> Response:
    with con.reading() as session:
        case = get_or_raise(session, Case, case_id, "case")
        history = list(session.scalars(select(AuditEvent).where(AuditEvent.subject == case_id)
                                       .order_by(AuditEvent.at, AuditEvent.id)))
    return con.page("cases/show.html", title=case.business_id, case=case, history=history,
                    content=json.dumps(case.content, indent=2, sort_keys=True), base=BASE)
