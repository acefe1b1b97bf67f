"""`casegate remotesystem …` and `casegate casetype import --remote`: this casegate as the
consumer of another casegate's case types (remote case types)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from casegate.cases import remote as remote_cases
from casegate.cli import context
from casegate.cli.access import casetypes, describe_case_type
from casegate.cli.deleting import delete_command
from casegate.cli.output import emit, emit_rows, errors, read_text
from casegate.cli.token import read_credentials
from casegate.errors import CasegateError, Invalid
from casegate.oauth.keys import KeyRing
from casegate.remote import systems
from casegate.remote.client import RemoteClient, RemoteFailure
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory
from casegate.storage.models import RemoteSystem

app = typer.Typer(help="Remote systems: producer casegates whose case types this casegate "
                       "offers as remote case types.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CredentialsFile = Annotated[Path, typer.Option(
    "--credentials-file", help="The producer's credentials file for the client registration "
                               "made there (`casegate client credentials ID`).")]
CaCert = Annotated[Path | None, typer.Option(
    "--cacert", help="The CA (PEM) the producer's certificate chains to, when not one the "
                     "system trusts. Certificates are always verified.")]


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The remote system's name.")],
    url: Annotated[str, typer.Option("--url", help="The producer, e.g. "
                                                   "https://producer.example:8443.")],
    credentials_file: CredentialsFile,
    cacert: CaCert = None,
    as_json: Json = False,
) -> None:
    """Register a producer casegate (the client secret is stored encrypted)."""
    with errors():
        cfg = context.settings()
        fields = read_credentials(credentials_file)
        with context.database(cfg) as session:
            system = systems.create(session, cfg.hmac_key(), name, url, fields,
                                    cacert=read_text(cacert))
            data = systems.describe(session, system)
        emit(data, as_json)


@app.command("update")
def update(
    name: Annotated[str, typer.Argument(help="The remote system's name.")],
    credentials_file: Annotated[Path | None, typer.Option(
        "--credentials-file", help="New credentials (a regenerated secret, another client "
                                   "registration).")] = None,
    cacert: CaCert = None,
    url: Annotated[str | None, typer.Option("--url", help="The producer's new URL.")] = None,
    as_json: Json = False,
) -> None:
    """Change a remote system's credentials, CA or URL."""
    with errors():
        cfg = context.settings()
        fields = read_credentials(credentials_file) if credentials_file else None
        if fields is None and cacert is None and url is None:
            raise Invalid("update", "give --credentials-file, --cacert or --url")
        with context.database(cfg) as session:
            system = systems.update(session, cfg.hmac_key(), name, fields,
                                    cacert=read_text(cacert), url=url)
            data = systems.describe(session, system)
        emit(data, as_json)


@app.command("list")
def list_systems(as_json: Json = False) -> None:
    """List remote systems (never their secrets)."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [systems.describe(session, s) for s in systems.list_all(session)]
        emit_rows(rows, as_json)


@app.command("show")
def show(name: str, as_json: Json = False) -> None:
    """Show one remote system."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = systems.describe(session, systems.get(session, name))
        emit(data, as_json)


def import_case_types(
    classes: Annotated[list[str] | None, typer.Argument(
        help="Producer case type classes to register here.")] = None,
    remote: Annotated[str, typer.Option(
        "--remote", help="The remote system the case types live on.")] = "",
    operator: Annotated[str | None, typer.Option(
        "--operator", help="Instead of CLASS…: every case type this operator (known on both "
                           "sides) may create on the producer (its GET /casetypes).")] = None,
    as_json: Json = False,
) -> None:
    """Register a producer's case types as remote case types."""
    with errors():
        if not remote or bool(classes) == bool(operator):
            raise Invalid("import", "give --remote NAME and either CLASS… or --operator OP")
        cfg = context.settings()
        with context.database(cfg) as session:
            system = systems.get(session, remote)
            offered = ([{"ID": c} for c in classes or []] if classes
                       else _offered(cfg, system, operator or ""))
            imported = remote_cases.import_case_types(session, system, offered)
            rows = [describe_case_type(c) | {"remote_system": remote} for c in imported]
        emit_rows(rows, as_json)


def _offered(cfg: Settings, system: RemoteSystem,
             operator: str) -> list[dict[str, object]]:
    engine = make_engine(cfg.db_url)
    client = RemoteClient(cfg, KeyRing(session_factory(engine), cfg))
    try:
        return remote_cases.offered_case_types(client, system, operator)
    except RemoteFailure as exc:
        raise CasegateError(exc.message) from exc
    finally:
        client.close()
        engine.dispose()


# `casetype import --remote` is one of the casetype commands (loaded from here: see LAZY)
casetypes.command("import")(import_case_types)

app.command("delete")(delete_command("remote system", systems.delete))
