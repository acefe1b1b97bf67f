"""`casegate consent …`: what people allowed clients to do."""

from __future__ import annotations

from typing import Annotated

import typer

from casegate.cli import context
from casegate.cli.output import emit, emit_rows, errors
from casegate.oauth import consents

app = typer.Typer(help="Consents people gave to clients at the consent page.",
                  no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("list")
def list_all(operator: Annotated[str | None, typer.Option(
                 "--operator", help="Only this person's consents.")] = None,
             as_json: Json = False) -> None:
    """List remembered consents."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [consents.describe(c) for c in consents.list_consents(session, operator)]
        emit_rows(rows, as_json)


@app.command("revoke")
def revoke(operator: str, client_id: str, as_json: Json = False) -> None:
    """Withdraw a consent: the client must ask again, and its tokens for the person die."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            revoked = consents.withdraw(session, operator, client_id)
        emit({"operator": operator, "client_id": client_id, "grants_revoked": revoked}, as_json,
             f"consent withdrawn; {revoked} grant(s) revoked")
