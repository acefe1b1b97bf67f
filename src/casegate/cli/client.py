"""`casegate client …`: client registrations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from casegate.cli import context
from casegate.cli.deleting import delete_command
from casegate.cli.output import emit, errors, read_text, say
from casegate.clients import service
from casegate.clients.service import GRANT_TYPES
from casegate.errors import CasegateError
from casegate.settings import Settings
from casegate.storage.models import ClientRegistration

app = typer.Typer(help="Client registrations: the applications that may ask for tokens.",
                  no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CredentialsFile = Annotated[Path | None, typer.Option(
    "--credentials-file", help="Also write the credentials file (.txt) here.")]


def _write(path: Path, text: str) -> None:
    """Called inside the transaction: a file that cannot be written rolls the change back,
    rather than leaving a new secret that nobody was ever shown."""
    from casegate.bootstrap import write_private  # bootstrap imports everything init needs

    try:
        write_private(path, text)
    except OSError as exc:
        raise CasegateError(f"cannot write {path}: {exc.strerror}") from exc


def _save(client: ClientRegistration, secret: str, credentials_file: Path | None,
          cfg: Settings) -> None:
    if credentials_file is not None:
        _write(credentials_file, service.credentials_file(client, secret, cfg.base_url))


def _shown_once(client: ClientRegistration, secret: str, as_json: bool,
                credentials_file: Path | None, cfg: Settings) -> None:
    data = service.describe(client, cfg.base_url)
    if secret:
        data["client_secret"] = secret
    if credentials_file is not None:
        data["credentials_file"] = str(credentials_file)
    emit(data, as_json)
    if not as_json and secret:
        say("The client secret is shown only now: store it safely.")


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A unique label for the client.")],
    operator: Annotated[str | None, typer.Option(
        "--operator", help="The service operator the client acts as (client credentials).")] = None,
    grant: Annotated[list[str] | None, typer.Option(
        "--grant", help=f"An allowed grant type ({', '.join(GRANT_TYPES)}; jwt-bearer and "
                        "saml2-bearer for short); repeatable.")] = None,
    lifetime: Annotated[str | None, typer.Option(
        "--lifetime", help="Access token lifetime in seconds, a positive integer (default: "
                           "CASEGATE_TOKEN_LIFETIME, 3600).")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="A scope the client may ask for; repeatable (default: the access "
                        "group's scopes).")] = None,
    redirect_uri: Annotated[list[str] | None, typer.Option(
        "--redirect-uri", help="Repeatable; exact match, https (http only on loopback).")
    ] = None,
    application: Annotated[str, typer.Option("--application")] = "",
    public: Annotated[bool, typer.Option(
        "--public", help="A public client (browser or native app): no secret, PKCE always; "
                         "authorization_code and refresh_token only.")] = False,
    allow_plain_pkce: Annotated[bool, typer.Option(
        "--allow-plain-pkce", help="Accept PKCE 'plain' from this client (S256 otherwise).")
    ] = False,
    refresh_lifetime: Annotated[str, typer.Option(
        "--refresh-lifetime", help="Seconds a refresh-token family lives, however often it is "
                                   "rotated (default 30 days).")] = str(30 * 24 * 3600),
    post_logout_redirect_uri: Annotated[list[str] | None, typer.Option(
        "--post-logout-redirect-uri", help="Repeatable; where sign-out may return (exact).")
    ] = None,
    identity_mapping: Annotated[str | None, typer.Option(
        "--identity-mapping", help="The identity mapping that turns the jwt-bearer or "
                                   "saml2-bearer grant's assertions into operators.")] = None,
    auth_method: Annotated[str, typer.Option(
        "--auth-method", help="client_secret (default: a secret, Basic or in the form) or "
                              "private_key_jwt (signed client assertions, with --jwks-file or "
                              "--jwks-url; no secret).")] = "client_secret",
    jwks_file: Annotated[Path | None, typer.Option(
        "--jwks-file", help="private_key_jwt: the client's public keys (JWKS).")] = None,
    jwks_url: Annotated[str | None, typer.Option(
        "--jwks-url", help="private_key_jwt: where the client publishes its keys (https).")
    ] = None,
    cacert: Annotated[Path | None, typer.Option(
        "--cacert", help="With --jwks-url: the CA (PEM) its certificate chains to, when not "
                         "the system's.")] = None,
    credentials_file: CredentialsFile = None,
    as_json: Json = False,
) -> None:
    """Register a client; its ID and secret are printed once."""
    with errors():
        cfg = context.settings()
        grants = grant or ["client_credentials"]
        with context.database(cfg) as session:
            client, secret = service.create(
                session, cfg.hmac_key(), name=name, grants=grants,
                operator_id=operator, scopes=scope, application=application,
                lifetime=cfg.token_lifetime if lifetime is None else lifetime,
                redirect_uris=redirect_uri, public=public, allow_plain_pkce=allow_plain_pkce,
                refresh_lifetime=refresh_lifetime,
                post_logout_redirect_uris=post_logout_redirect_uri,
                identity_mapping=identity_mapping, auth_method=auth_method,
                jwks=read_text(jwks_file), jwks_url=jwks_url, cacert=read_text(cacert))
            _save(client, secret, credentials_file, cfg)
        if "password" in grants:
            say(f"warning: {service.GRANT_WARNING}")
        _shown_once(client, secret, as_json, credentials_file, cfg)


@app.command("list")
def list_clients(as_json: Json = False) -> None:
    """List client registrations (never their secrets)."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [service.describe(c, cfg.base_url) for c in service.list_all(session)]
        if as_json:
            emit(rows, True)
            return
        for row in rows:
            state = "enabled" if row["enabled"] else "disabled"
            typer.echo(f"{row['client_id']}  {row['name']}  {row['operator']}  {state}")


@app.command("show")
def show(client_id: str, as_json: Json = False) -> None:
    """Show one client registration."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            emit(service.describe(service.get(session, client_id), cfg.base_url), as_json)


@app.command("regenerate-secret")
def regenerate_secret(
    client_id: str,
    grace: Annotated[int, typer.Option(
        "--grace", help="Seconds the old secret keeps working (and tokens stay valid); "
                        "default 0: it fails at once and the client's tokens are revoked.")] = 0,
    credentials_file: CredentialsFile = None,
    as_json: Json = False,
) -> None:
    """New secret: the old one fails at once and the client's tokens are revoked."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            secret = service.regenerate_secret(session, cfg.hmac_key(), client_id, grace=grace)
            client = service.get(session, client_id)
            _save(client, secret, credentials_file, cfg)
        _shown_once(client, secret, as_json, credentials_file, cfg)


@app.command("credentials")
def credentials(
    client_id: str,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the file here instead of printing it.")] = None,
    yes: Annotated[bool, typer.Option("--yes", hidden=True)] = False,
) -> None:
    """The credentials file (.txt), as Pega's "regenerate and download" gives it. Secrets are
    stored only hashed, so this makes a new secret: the old one stops working and the
    client's tokens are revoked (use `regenerate-secret --grace` to move clients gently)."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            secret = service.regenerate_secret(session, cfg.hmac_key(), client_id)
            text = service.credentials_file(service.get(session, client_id), secret, cfg.base_url)
            if output is not None:
                _write(output, text)
        say("new client secret made: the previous one no longer works and the client's "
            "tokens are revoked")
        if output is None:
            typer.echo(text, nl=False)
        else:
            say(f"wrote {output}")


@app.command("revoke-tokens")
def revoke_tokens(client_id: str, as_json: Json = False) -> None:
    """Revoke every token issued to the client so far."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            service.revoke_tokens(session, client_id)
        emit({"client_id": client_id, "tokens_revoked": True}, as_json,
             f"revoked every token of {client_id}")


@app.command("disable")
def disable(client_id: str, as_json: Json = False) -> None:
    """Disable the client: it gets no token, and its tokens fail at the next request."""
    _set_enabled(client_id, False, as_json)


@app.command("enable")
def enable(client_id: str, as_json: Json = False) -> None:
    """Enable the client again."""
    _set_enabled(client_id, True, as_json)


def _set_enabled(client_id: str, enabled: bool, as_json: Json) -> None:
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            client = service.set_enabled(session, client_id, enabled)
            data = service.describe(client, cfg.base_url)
        emit(data, as_json)


@app.command("set-lifetime")
def set_lifetime(client_id: str, seconds: str, as_json: Json = False) -> None:
    """Change the access token lifetime (seconds, a positive integer)."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = service.describe(service.set_lifetime(session, client_id, seconds),
                                    cfg.base_url)
        emit(data, as_json)


@app.command("save-as")
def save_as(client_id: str,
            name: Annotated[str, typer.Option("--name", help="The copy's unique label.")],
            credentials_file: CredentialsFile = None, as_json: Json = False) -> None:
    """A copy of the registration with its own ID and secret (Pega's "Save as")."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            client, secret = service.save_as(session, cfg.hmac_key(), client_id, name)
            _save(client, secret, credentials_file, cfg)
        _shown_once(client, secret, as_json, credentials_file, cfg)


app.command("delete")(delete_command(
    "client registration", service.delete,
    ", its codes, refresh tokens and consents; its tokens fail at the next request"))
