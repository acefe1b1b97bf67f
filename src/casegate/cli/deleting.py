"""`casegate <record> delete NAME`: one command for every record, on its service's delete
(refused, exit code 1, while something uses the record)."""

from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from casegate.cli import context
from casegate.cli.output import emit, errors


def delete_command(what: str, remove: Callable[[Session, str], None],
                   more: str = "") -> Callable[[str, bool], None]:
    def command(
        name: Annotated[str, typer.Argument(help=f"The {what} to delete.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    ) -> None:
        with errors():
            cfg = context.settings()
            with context.database(cfg) as session:
                remove(session, name)
            emit({"deleted": what, "name": name}, as_json, f"deleted {what} {name}")

    command.__doc__ = f"Delete a {what}{more} (refused while something uses it)."
    return command
