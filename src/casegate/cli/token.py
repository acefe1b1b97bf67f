"""`casegate token …`: be a client of any casegate (the walkthrough, without Postman)."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer

from casegate.cli.output import emit
from casegate.oauth import metadata

app = typer.Typer(help="Act as a client: get (the default), revoke or introspect a token.",
                  invoke_without_command=True)

CredentialsFile = Annotated[Path | None, typer.Option(
    "--credentials-file", "-f", help="A client credentials file (.txt) to read ID, secret "
                                     "and endpoints from.")]
ClientId = Annotated[str | None, typer.Option("--client-id")]
ClientSecret = Annotated[str | None, typer.Option(
    "--client-secret", envvar="CASEGATE_CLIENT_SECRET",
    help="The secret (or set CASEGATE_CLIENT_SECRET, which keeps it out of `ps`).")]
Url = Annotated[str | None, typer.Option(
    "--url", help="Base URL of the casegate, e.g. https://127.0.0.1:8443 "
                  "(default: from the credentials file).")]
CaFile = Annotated[Path | None, typer.Option(
    "--cacert", help="Trust this CA certificate (PEM), e.g. a casegate's local CA, "
                     ".casegate/tls/ca.pem.")]
Insecure = Annotated[bool, typer.Option("--insecure", help="Do not verify TLS (testing only).")]
Json = Annotated[bool, typer.Option("--json", help="Print the JSON answer.")]


def read_credentials(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from exc
    from casegate.remote.systems import parse_credentials  # noqa: PLC0415 (quick start)

    return parse_credentials(text)


def _client(credentials_file: Path | None, client_id: str | None, secret: str | None,
            url: str | None) -> tuple[str, str, str]:
    fields = read_credentials(credentials_file) if credentials_file else {}
    client_id = client_id or fields.get("client id")
    secret = secret or fields.get("client secret")
    token_url = fields.get("access token endpoint", "")
    base = url.rstrip("/") if url else token_url.removesuffix(metadata.TOKEN)
    if not client_id or not secret or not base:
        raise typer.BadParameter("give --credentials-file, or --client-id, --client-secret "
                                 "and --url")
    return client_id, secret, base


def _verify(cacert: Path | None, insecure: bool) -> bool | ssl.SSLContext:
    if insecure:
        return False
    try:
        return ssl.create_default_context(cafile=str(cacert)) if cacert else True
    except OSError as exc:  # a missing file, or not a PEM certificate (ssl.SSLError)
        raise typer.BadParameter(f"cannot read {cacert}: {exc.strerror or exc}") from exc


def _post(url: str, data: dict[str, str], auth: tuple[str, str],
          verify: bool | ssl.SSLContext) -> httpx.Response:
    try:
        return httpx.post(url, data=data, auth=auth, verify=verify, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"casegate: {url}: {exc}", err=True)
        sys.exit(2)


def _answer(response: httpx.Response, as_json: bool, field: str | None = None) -> None:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {"status": response.status_code}
    if response.is_error:
        typer.echo(f"casegate: {response.status_code} {body.get('error', '')}: "
                   f"{body.get('error_description', '')}", err=True)
        sys.exit(1)
    if field and not as_json:
        typer.echo(body[field])
    else:
        emit(body, as_json or field is not None)


@app.command("get")
def get(credentials_file: CredentialsFile = None, client_id: ClientId = None,
        client_secret: ClientSecret = None, url: Url = None,
        scope: Annotated[str | None, typer.Option("--scope")] = None,
        cacert: CaFile = None, insecure: Insecure = False, as_json: Json = False) -> None:
    """Get a client-credentials access token; prints the token (or the whole answer)."""
    cid, secret, base = _client(credentials_file, client_id, client_secret, url)
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = _post(base + metadata.TOKEN, data, (cid, secret), _verify(cacert, insecure))
    _answer(response, as_json, None if as_json else "access_token")


@app.callback()
def default(ctx: typer.Context, credentials_file: CredentialsFile = None,
            client_id: ClientId = None, client_secret: ClientSecret = None, url: Url = None,
            scope: Annotated[str | None, typer.Option("--scope")] = None,
            cacert: CaFile = None, insecure: Insecure = False, as_json: Json = False) -> None:
    """`casegate token --credentials-file F` alone is `casegate token get --credentials-file F`."""
    if ctx.invoked_subcommand is not None:
        return
    if not (credentials_file or client_id or client_secret or url):
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    get(credentials_file, client_id, client_secret, url, scope, cacert, insecure, as_json)


@app.command("revoke")
def revoke(token: str, credentials_file: CredentialsFile = None, client_id: ClientId = None,
           client_secret: ClientSecret = None, url: Url = None, cacert: CaFile = None,
           insecure: Insecure = False) -> None:
    """Revoke a token issued to this client."""
    cid, secret, base = _client(credentials_file, client_id, client_secret, url)
    response = _post(base + metadata.REVOKE, {"token": token}, (cid, secret),
                     _verify(cacert, insecure))
    _answer(response, False, None)
    typer.echo("revoked", err=True)


@app.command("introspect")
def introspect(token: str, credentials_file: CredentialsFile = None, client_id: ClientId = None,
               client_secret: ClientSecret = None, url: Url = None, cacert: CaFile = None,
               insecure: Insecure = False) -> None:
    """Ask whether a token of this client is active (RFC 7662)."""
    cid, secret, base = _client(credentials_file, client_id, client_secret, url)
    response = _post(base + metadata.INTROSPECT, {"token": token}, (cid, secret),
                     _verify(cacert, insecure))
    _answer(response, True)
