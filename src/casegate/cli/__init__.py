"""The `casegate` command: one sub-app per noun.

Each noun's module is imported only when that command runs (LAZY below): `casegate --help`
or `casegate token get` does not pay for SQLAlchemy, Alembic, pydantic or the web stack.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from casegate.cli.output import emit, errors, say

app = typer.Typer(help="casegate: an OAuth 2.0 authorization server and the case API it "
                       "protects.", no_args_is_help=True, add_completion=False,
                  # plain help: rich's renderer alone took longer to import than the rest
                  rich_markup_mode=None)

# name: (module, attribute: a Typer app or a command function, the one-line help)
LAZY = {
    "client": ("casegate.cli.client", "app",
               "Client registrations: the applications that may ask for tokens."),
    "operator": ("casegate.cli.operator", "app",
                 "Operators: people who sign in and service operators for clients."),
    "token": ("casegate.cli.token", "app",
              "Act as a client: get (the default), revoke or introspect a token."),
    "consent": ("casegate.cli.consent", "app",
                "Consents people gave to clients at the consent page."),
    "role": ("casegate.cli.access", "roles", "Roles: privileges on case types."),
    "accessgroup": ("casegate.cli.access", "accessgroups",
                    "Access groups: roles, and the scopes tokens may carry."),
    "casetype": ("casegate.cli.remote", "casetypes",  # with `import --remote`
                 "Case types: class name, ID prefix, processes, content schema."),
    "audit": ("casegate.cli.audit", "audit", "Print the audit log: tokens issued and "
              "refused, revocations, admin changes."),
    "keys": ("casegate.cli.ops", "keys_app", "Signing keys: list them, rotate them."),
    "db": ("casegate.cli.ops", "db_app", "The database schema."),
    "backup": ("casegate.cli.ops", "backup", "A consistent copy of a SQLite database "
               "while casegate runs."),
    "tokenprofile": ("casegate.cli.trust", "profiles",
                     "Token profiles: JWT issuers trusted for the JWT bearer grant."),
    "identitymapping": ("casegate.cli.trust", "mappings",
                        "Identity mappings: assertions (JWT or SAML) to operators."),
    "remotesystem": ("casegate.cli.remote", "app",
                     "Remote systems: other casegates whose case types are used here."),
}


class Lazy(TyperCommand):
    """Stands in the command list with its one-line help; the real command is built from
    its module when it is run (or its own --help asked for)."""

    def __init__(self, name: str, module: str, attribute: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help, add_help_option=False)
        self._where = (module, attribute)
        self._real: click.Command | None = None

    def real(self) -> click.Command:
        if self._real is None:
            found = getattr(importlib.import_module(self._where[0]), self._where[1])
            if not isinstance(found, typer.Typer):
                single = typer.Typer(add_completion=False)
                single.command(self.name)(found)
                found = single
            found._add_completion = False  # a part of `casegate`, not a program of its own
            found.rich_markup_mode = None
            self._real = typer.main.get_command(found)
        return self._real

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real().invoke(ctx)


@app.command("init")
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the seeds' example: case type, "
                                       "access group, service operator, client.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create the database, a signing key and an administrator (idempotent)."""
    from casegate import bootstrap
    from casegate.cli import context

    with errors():
        result = bootstrap.init(context.settings(), demo, context.actor())
    if as_json:
        emit(_flat(result), True)
        return
    say(f"casegate home: {result['home']}")
    if "administrator" in result:
        admin = result["administrator"]
        say(f"administrator {admin['operator']}, password (shown once): {admin['password']}")
    shown = result.get("demo")
    if shown:
        state = "created" if shown["created"] else "already there"
        say(f"demo client {shown['client_id']} ({state})")
        if "client_secret" in shown:
            say(f"  client secret (shown once): {shown['client_secret']}")
        say(f"  credentials file: {shown['credentials_file']}")
        say(f"  token endpoint:   {shown['token_endpoint']}")


def _flat(result: dict[str, object]) -> dict[str, object]:
    """--json: the demo client's fields at the top, as scripts expect them."""
    demo = result.pop("demo", None)
    return {**result, **demo} if isinstance(demo, dict) else result


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port [8443].")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes [1].")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="TLS certificate (PEM).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="TLS private key (PEM).")] = None,
    http: Annotated[bool, typer.Option("--http", help="Plain HTTP: INSECURE, for a "
                                       "TLS-terminating proxy on the same host only.")] = False,
    issuer: Annotated[str | None, typer.Option(
        "--issuer", help="Public base URL, when it differs from https://HOST:PORT.")] = None,
    header_timeout: Annotated[float | None, typer.Option(
        "--header-timeout", help="Seconds a client has to send a request's headers [5].")] = None,
    body_timeout: Annotated[float | None, typer.Option(
        "--body-timeout", help="Seconds a client has to send a request's body [10].")] = None,
    idle_timeout: Annotated[float | None, typer.Option(
        "--idle-timeout", help="Seconds a connection may wait silent for its next request "
        "[5].")] = None,
    max_connections: Annotated[int | None, typer.Option(
        "--max-connections", help="Open connections per process; past it, 503 [1000].")] = None,
) -> None:
    """Run the server: HTTPS on 127.0.0.1:8443 by default."""
    from casegate import logs
    from casegate.cli import context, ops
    from casegate.issuer import settle
    from casegate.storage.db import make_engine, session_factory
    from casegate.web.serve import serve as run

    with errors():
        cfg = context.settings(host=host, port=port, workers=workers, cert_file=cert,
                               key_file=key, http=http or None, issuer=issuer,
                               header_timeout=header_timeout, body_timeout=body_timeout,
                               idle_timeout=idle_timeout, max_connections=max_connections)
        applied = ops.upgrade_database(cfg)
        if applied:
            say(f"database upgraded: {', '.join(applied)}")
        context.check_signing_keys(cfg)
        engine = make_engine(cfg.db_url)
        try:
            cfg = settle(cfg, session_factory(engine))  # the issuer all processes share
        finally:
            engine.dispose()
        run(cfg, logs.announcer(cfg.log_format, say))


def main() -> None:
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    for name, (module, attribute, short_help) in LAZY.items():
        command.add_command(Lazy(name, module, attribute, short_help))
    command(prog_name="casegate")
