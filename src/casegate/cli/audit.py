"""`casegate audit`: what happened, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select

from casegate.cli import context
from casegate.cli.output import emit, errors
from casegate.storage.models import AuditEvent


def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    event: Annotated[str | None, typer.Option("--event", help="Only this event, e.g. "
                                              "token.issued")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Print the audit log: tokens issued and refused, revocations, admin changes."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            newest = (AuditEvent.at.desc(), AuditEvent.id.desc())
            query = select(AuditEvent).order_by(*newest).limit(limit)
            if event:
                query = query.where(AuditEvent.event == event)
            rows = [{"at": datetime.fromtimestamp(e.at, UTC).isoformat(timespec="seconds"),
                     "event": e.event, "actor": e.actor, "subject": e.subject,
                     "outcome": e.outcome, "detail": e.detail}
                    for e in session.scalars(query)]
    if as_json:
        emit(rows, True)
        return
    for row in rows:
        typer.echo(f"{row['at']}  {row['event']:<24} {row['outcome']:<8} "
                   f"{row['actor']}  {row['subject']}")
