"""The `casegate` command: one sub-app per noun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from casegate import bootstrap
from casegate.cli import (
    access,
    audit,
    client,
    consent,
    context,
    operator,
    ops,
    remote,
    token,
    trust,
)
from casegate.cli.output import emit, errors, say

app = typer.Typer(help="casegate: an OAuth 2.0 authorization server and the case API it "
                       "protects.", no_args_is_help=True, add_completion=False)
app.add_typer(client.app, name="client")
app.add_typer(operator.app, name="operator")
app.add_typer(token.app, name="token")
app.add_typer(consent.app, name="consent")
app.add_typer(access.roles, name="role")
app.add_typer(access.accessgroups, name="accessgroup")
app.add_typer(access.casetypes, name="casetype")
app.add_typer(trust.profiles, name="tokenprofile")
app.add_typer(trust.mappings, name="identitymapping")
app.command("audit")(audit.audit)
app.add_typer(ops.keys_app, name="keys")
app.add_typer(ops.db_app, name="db")
app.command("backup")(ops.backup)
app.add_typer(remote.app, name="remotesystem")
access.casetypes.command("import")(remote.import_case_types)


@app.command("init")
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the seeds' example: case type, "
                                       "access group, service operator, client.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create the database, a signing key and an administrator (idempotent)."""
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
) -> None:
    """Run the server: HTTPS on 127.0.0.1:8443 by default."""
    from casegate import logs
    from casegate.issuer import settle
    from casegate.storage.db import make_engine, session_factory
    from casegate.web.serve import serve as run

    with errors():
        cfg = context.settings(host=host, port=port, workers=workers, cert_file=cert,
                               key_file=key, http=http or None, issuer=issuer)
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
    app()
