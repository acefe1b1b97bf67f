"""`casegate operator …`: the identities tokens act as."""

from __future__ import annotations

from typing import Annotated

import typer

from casegate.access import operators
from casegate.cli import context
from casegate.cli.output import emit, errors
from casegate.oauth import families
from casegate.storage.models import Operator

app = typer.Typer(help="Operators: people who sign in and service operators for clients.",
                  no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def describe(operator: Operator) -> dict[str, object]:
    return {"operator": operator.id, "name": operator.name, "kind": operator.kind,
            "access_group": operator.access_group, "enabled": operator.enabled}


@app.command("create")
def create(
    operator_id: Annotated[str, typer.Argument(help="The operator ID, e.g. api@example.com")],
    access_group: Annotated[str, typer.Option("--access-group")],
    service: Annotated[bool, typer.Option(
        "--service/--person", help="A service operator (cannot sign in) or a person.")] = True,
    name: Annotated[str, typer.Option("--name")] = "",
    password: Annotated[str | None, typer.Option(
        "--password", envvar="CASEGATE_OPERATOR_PASSWORD",
        help="A person's password (or set CASEGATE_OPERATOR_PASSWORD).")] = None,
    as_json: Json = False,
) -> None:
    """Create an operator."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            operator = operators.create_operator(
                session, operator_id, "service" if service else "person", access_group,
                name=name, password=password)
            session.flush()  # column defaults (enabled) are filled in by the INSERT
            data = describe(operator)
        # acknowledged only once committed
        emit(data, as_json)


@app.command("list")
def list_operators(as_json: Json = False) -> None:
    """List operators."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [describe(o) for o in operators.list_operators(session)]
        if as_json:
            emit(rows, True)
        for row in [] if as_json else rows:
            typer.echo(f"{row['operator']}  {row['kind']}  {row['access_group']}")


@app.command("disable")
def disable(operator_id: str, as_json: Json = False) -> None:
    """Disable an operator: every token issued for it fails at the next request."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = describe(operators.set_enabled(session, operator_id, False))
        emit(data, as_json)


@app.command("enable")
def enable(operator_id: str, as_json: Json = False) -> None:
    """Enable an operator again."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = describe(operators.set_enabled(session, operator_id, True))
        emit(data, as_json)


@app.command("set-password")
def set_password(
    operator_id: str,
    password: Annotated[str, typer.Option(
        "--password", envvar="CASEGATE_OPERATOR_PASSWORD", prompt=True, hide_input=True,
        confirmation_prompt=True, help="The new password (asked for when not given; or set "
                                       "CASEGATE_OPERATOR_PASSWORD).")],
    as_json: Json = False,
) -> None:
    """Set a person's password: their sign-in sessions end and their tokens are revoked."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = describe(families.change_password(session, operator_id, password))
        emit(data, as_json)
