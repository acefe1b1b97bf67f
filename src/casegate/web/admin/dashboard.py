"""The console's first page: tokens issued and refused in the last hour, by client and in
five-minute steps (a chart drawn here as SVG), live refresh-token families, recent refusals."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casegate.storage.models import AuditEvent, ClientRegistration, RevokedToken, TokenFamily
from casegate.web.admin.core import ROOT, Console, view

router = APIRouter()
TOKEN_EVENTS = ("token.issued", "token.refused")
HOUR, STEP = 3600, 300
WIDTH, HEIGHT, BOTTOM = 600, 200, 20


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    label: str
    kind: str
    title: str


@router.get(ROOT + "/")
async def dashboard(request: Request) -> Response:
    return await view(request, _dashboard)


def _dashboard(con: Console) -> Response:
    now = time.time()
    since = now - HOUR
    with con.reading() as session:
        by_client = _by_client(session, since)
        steps = [_counts(session, since + i * STEP, since + (i + 1) * STEP)
                 for i in range(HOUR // STEP)]
        families = session.scalar(select(func.count()).select_from(TokenFamily).where(
            TokenFamily.revoked_at.is_(None), TokenFamily.expires_at > now)) or 0
        denied = session.scalar(select(func.count()).select_from(RevokedToken).where(
            RevokedToken.expires_at > now)) or 0
        refusals = list(session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "refused")
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(10)))
    issued = sum(s[0] for s in steps)
    refused = sum(s[1] for s in steps)
    return con.page("dashboard.html", title="Dashboard", by_client=by_client,
                    issued=issued, refused=refused, families=families, denied=denied,
                    refusals=refusals, bars=_bars(steps, since), width=WIDTH,
                    height=HEIGHT + BOTTOM, baseline=HEIGHT)


def _by_client(session: Session, since: float) -> list[tuple[str, str, int, int]]:
    """(client ID, name, issued, refused), busiest first."""
    rows = session.execute(
        select(AuditEvent.subject, AuditEvent.outcome, func.count())
        .where(AuditEvent.event.in_(TOKEN_EVENTS), AuditEvent.at >= since)
        .group_by(AuditEvent.subject, AuditEvent.outcome))
    counts: dict[str, list[int]] = {}
    for subject, outcome, count in rows:
        counts.setdefault(subject, [0, 0])[0 if outcome == "ok" else 1] += count
    names = dict(session.execute(select(ClientRegistration.client_id, ClientRegistration.name)
                                 .where(ClientRegistration.client_id.in_(list(counts)))).all())
    table = [(cid, names.get(cid, ""), ok, bad) for cid, (ok, bad) in counts.items()]
    return sorted(table, key=lambda row: (-(row[2] + row[3]), row[0]))


def _counts(session: Session, start: float, end: float) -> tuple[int, int]:
    rows = dict(session.execute(
        select(AuditEvent.outcome, func.count())
        .where(AuditEvent.event.in_(TOKEN_EVENTS), AuditEvent.at >= start, AuditEvent.at < end)
        .group_by(AuditEvent.outcome)).all())
    return int(rows.get("ok", 0)), sum(int(v) for k, v in rows.items() if k != "ok")


def _bars(steps: list[tuple[int, int]], since: float) -> list[Bar]:
    """Two bars per five minutes (issued, refused), scaled to the busiest step."""
    top = max([1] + [max(s) for s in steps])
    slot = WIDTH / len(steps)
    bars = []
    for index, (ok, bad) in enumerate(steps):
        minute = time.strftime("%H:%M", time.gmtime(since + index * STEP))
        for offset, (value, kind) in enumerate(((ok, "issued"), (bad, "refused"))):
            height = HEIGHT * value / top
            bars.append(Bar(x=index * slot + 4 + offset * (slot - 8) / 2,
                            width=(slot - 8) / 2, y=HEIGHT - height, height=height,
                            label=minute if offset == 0 else "", kind=kind,
                            title=f"{minute} UTC: {value} {kind}"))
    return bars
