"""The audit log: filtered by event, client, operator and time, paged, exported as CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from casegate.storage.models import AuditEvent
from casegate.web.admin.core import ROOT, Console, Record, view, when

RECORD = Record("Audit log", ROOT + "/audit")
BASE = RECORD.path
router = APIRouter()
PAGE = 50
MAX_EXPORT = 100_000
FILTERS = ("event", "client", "operator", "since", "until")


def _time(value: str) -> float | None:
    """A form's date-time (taken as UTC), or None when blank or not one."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp() if value else None
    except ValueError:
        return None


def _filtered(params: dict[str, str]) -> tuple[Select[AuditEvent], dict[str, str]]:
    query = select(AuditEvent)
    errors = {}
    if params["event"]:
        query = query.where(AuditEvent.event == params["event"])
    if params["client"]:
        # a client is the subject of token events and the actor of revocations
        query = query.where(or_(AuditEvent.subject == params["client"],
                                AuditEvent.actor == params["client"]))
    if params["operator"]:
        query = query.where(AuditEvent.actor == params["operator"])
    for name, op in (("since", "ge"), ("until", "lt")):
        if params[name]:
            at = _time(params[name])
            if at is None:
                errors[name] = "a date and time, e.g. 2026-11-29T14:00"
            else:
                query = query.where(AuditEvent.at >= at if op == "ge" else AuditEvent.at < at)
    return query, errors


def _params(con: Console) -> dict[str, str]:
    return {n: con.request.query_params.get(n, "").strip()[:200] for n in FILTERS}


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    params = _params(con)
    try:
        page = max(1, min(int(con.request.query_params.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    query, errors = _filtered(params)
    with con.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                    .offset((page - 1) * PAGE).limit(PAGE)))
        events = list(session.scalars(select(AuditEvent.event).distinct()
                                      .order_by(AuditEvent.event)))
    return con.page("audit.html", 400 if errors else 200, title="Audit log", rows=rows,
                    params=params, errors=errors, page=page, total=total,
                    pages=max(1, -(-total // PAGE)), events=events, base=BASE,
                    query=_query_string(params))


def _query_string(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


@router.get(BASE + ".csv")
async def export(request: Request) -> Response:
    return await view(request, _export)


def _export(con: Console) -> Response:
    query, errors = _filtered(_params(con))
    if errors:
        return con.message("Cannot export", next(iter(errors.values())), 400)
    with con.reading() as session:
        text = _csv(session, query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                    .limit(MAX_EXPORT))
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="casegate-audit.csv"'})


def _csv(session: Session, query: Select[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "event", "outcome", "actor", "subject", "detail"])
    for e in session.scalars(query):
        writer.writerow([when(e.at), e.event, e.outcome, _cell(e.actor), _cell(e.subject),
                         _cell(json.dumps(e.detail, sort_keys=True))])
    return out.getvalue()


def _cell(value: Any) -> str:
    """A spreadsheet must not run what a client or operator name holds (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
