"""Records → Security → OAuth 2.0 Client Registration: Pega's form, on clients/service.py.

A new secret (create, Save as, regenerate) is shown on one page only: the change answers with
a redirect and a short-lived encrypted cookie holding the secret, which that page reads and
deletes. Reload and back find no cookie, so no secret; the credentials file is offered only
there (the page posts the secret back, and it is checked against the stored hash)."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from casegate import crypto
from casegate.access import trust
from casegate.clients import service
from casegate.oauth import metadata
from casegate.storage.models import ClientRegistration, Operator
from casegate.web import browser
from casegate.web.admin.core import (
    ROOT,
    Console,
    Record,
    action,
    confirm,
    delete,
    number,
    see_other,
    view,
)

RECORD = Record("Client registrations", ROOT + "/clients")
BASE = RECORD.path
router = APIRouter()
REVEAL = "casegate_reveal"
REVEAL_SECONDS = 120
GRANT_TEXT = {
    "client_credentials": "Client credentials",
    "authorization_code": "Authorization code (with PKCE)",
    "refresh_token": "Refresh token",
    "password": "Password (discouraged)",
    "jwt-bearer": "JWT bearer (RFC 7523)",
    "saml2-bearer": "SAML 2.0 bearer (RFC 7522)",
}
# the form's checkbox of each grant: grant-<short name> (the assertion grants' URNs shortened)
SHORT = {full: short for short, full in service.SHORT_NAMES.items()}


# -- the list ---------------------------------------------------------------------------------
@router.get(BASE)
async def registrations(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    query = con.request.query_params.get("q", "").strip()[:200]
    with con.reading() as session:
        rows = [c for c in service.list_all(session) if _matches(c, query.lower())]
    return con.page("clients/list.html", title="Client registrations", rows=rows, q=query,
                    new=BASE + "/new", notice=_notice(con))


def _matches(client: ClientRegistration, query: str) -> bool:
    return not query or any(query in (value or "").lower() for value in (
        client.name, client.client_id, client.application, client.operator_id))


# -- the form ---------------------------------------------------------------------------------
def _form_values(client: ClientRegistration | None) -> dict[str, Any]:
    if client is None:
        return {"name": "", "application": "", "operator": "", "lifetime": "3600",
                "refresh-lifetime": str(30 * 24 * 3600), "redirect-uri": "",
                "post-logout-redirect-uri": "", "scope": "", "grants": ["client_credentials"],
                "public": False, "allow-plain-pkce": False, "identity-mapping": "",
                "auth-method": "client_secret", "jwks-file": "", "jwks-url": "", "cacert": ""}
    return {"name": client.name, "application": client.application,
            "operator": client.operator_id or "", "lifetime": str(client.token_lifetime),
            "refresh-lifetime": str(client.refresh_lifetime),
            "redirect-uri": "\n".join(client.redirect_uris),
            "post-logout-redirect-uri": "\n".join(client.post_logout_redirect_uris),
            "scope": " ".join(client.scopes),
            "grants": [SHORT.get(g, g) for g in client.grant_types],
            "public": client.public, "allow-plain-pkce": client.allow_plain_pkce,
            "identity-mapping": client.identity_mapping or "",
            "auth-method": client.auth_method, "jwks-file": "", "jwks-url": "", "cacert": ""}


def _posted(con: Console) -> dict[str, Any]:
    return {"name": con.text("name", 300), "application": con.text("application", 300),
            "operator": con.text("operator", 200), "lifetime": con.text("lifetime", 40),
            "refresh-lifetime": con.text("refresh-lifetime", 40),
            "redirect-uri": con.form.get("redirect-uri", ""),
            "post-logout-redirect-uri": con.form.get("post-logout-redirect-uri", ""),
            "scope": con.text("scope"),
            "grants": [SHORT.get(g, g) for g in service.GRANT_TYPES
                       if con.checked(f"grant-{SHORT.get(g, g)}")],
            "public": con.checked("public"), "allow-plain-pkce": con.checked("allow-plain-pkce"),
            "identity-mapping": con.text("identity-mapping", 200),
            "auth-method": con.text("auth-method", 40) or "client_secret",
            # the client's public keys: an uploaded JWKS file, else the pasted JSON
            "jwks-file": con.form.get("jwks-upload", "").strip() or con.text("jwks-file", 65536),
            "jwks-url": con.text("jwks-url"), "cacert": con.text("cacert", 65536)}


def _arguments(con: Console, values: dict[str, Any]) -> dict[str, Any]:
    """The form as the service's arguments: the service alone judges them."""
    return {"name": values["name"], "grants": service.full_grant_names(values["grants"]),
            "operator_id": values["operator"] or None, "lifetime": number(values["lifetime"]),
            "scopes": values["scope"].split(), "application": values["application"],
            "redirect_uris": con.lines("redirect-uri"),
            "allow_plain_pkce": values["allow-plain-pkce"],
            "refresh_lifetime": number(values["refresh-lifetime"]),
            "post_logout_redirect_uris": con.lines("post-logout-redirect-uri"),
            "identity_mapping": values["identity-mapping"] or None,
            "jwks": values["jwks-file"] or None, "jwks_url": values["jwks-url"] or None,
            "cacert": values["cacert"] or None}


def _form(con: Console, client: ClientRegistration | None, values: dict[str, Any],
          errors: dict[str, str] | None = None, notice: str = "") -> Response:
    with con.reading() as session:
        services = [o.id for o in session.query(Operator).filter(Operator.kind == "service")
                    .order_by(Operator.id)]
        mappings = [m.name for m in trust.list_mappings(session)]
    base = con.rt.settings.base_url
    title = client.name if client else "New client registration"
    return con.page("clients/form.html", 400 if errors else 200, title=title, client=client,
                    values=values, errors=errors or {}, operators=services,
                    grant_text=GRANT_TEXT, notice=notice, base=BASE, mappings=mappings,
                    auth_methods=service.AUTH_METHODS,
                    endpoints={"Access token endpoint": base + metadata.TOKEN,
                               "Authorization endpoint": base + metadata.AUTHORIZE,
                               "Token revocation endpoint": base + metadata.REVOKE},
                    warning=service.GRANT_WARNING)


@router.get(BASE + "/new")
async def new(request: Request) -> Response:
    return await view(request, lambda con: _form(con, None, _form_values(None)))


@router.post(BASE + "/new")
async def create(request: Request) -> Response:
    return await action(request, _create)


def _create(con: Console) -> Response:
    values = _posted(con)

    def change(session: Session) -> Response:
        client, secret = service.create(session, con.rt.hmac_key,
                                        public=values["public"], actor=con.admin,
                                        auth_method=values["auth-method"],
                                        **_arguments(con, values))
        return _to_secret(con, client, secret)

    return con.attempt(change, lambda errors: _form(con, None, values, errors))


@router.get(BASE + "/{client_id}")
async def show(request: Request, client_id: str) -> Response:
    return await view(request, _show, client_id)


def _show(con: Console, client_id: str, notice: str = "") -> Response:
    with con.reading() as session:
        client = service.get(session, client_id)
    return _form(con, client, _form_values(client), notice=notice or _notice(con))


NOTICES = {"saved": "Saved.", "deleted": "The client registration is deleted; its tokens "
           "fail at their next request.", "revoked": "Every token of this client is revoked.",
           "enabled": "The client is enabled.", "disabled": "The client is disabled: it gets "
           "no token, and its tokens fail at the next request."}


def _notice(con: Console) -> str:
    return NOTICES.get(con.request.query_params.get("done", ""), "")


@router.post(BASE + "/{client_id}")
async def save(request: Request, client_id: str) -> Response:
    return await action(request, _save, client_id)


def _save(con: Console, client_id: str) -> Response:
    values = _posted(con)
    with con.reading() as session:
        client = service.get(session, client_id)
    values["public"], values["auth-method"] = client.public, client.auth_method

    def change(session: Session) -> Response:
        service.update(session, client_id, actor=con.admin, **_arguments(con, values))
        return see_other(f"{BASE}/{client_id}?done=saved")

    return con.attempt(change, lambda errors: _form(con, client, values, errors))


# -- actions ----------------------------------------------------------------------------------
@router.get(BASE + "/{client_id}/delete")
async def ask_delete(request: Request, client_id: str) -> Response:
    return await view(request, _ask_delete, client_id)


def _ask_delete(con: Console, client_id: str) -> Response:
    with con.reading() as session:
        client = service.get(session, client_id)
    return confirm(con, f"client registration {client.name!r} ({client_id}) and revoke "
                        "every token it was issued", f"{BASE}/{client_id}")


@router.post(BASE + "/{client_id}/delete")
async def delete_client(request: Request, client_id: str) -> Response:
    return await action(request, _delete, client_id)


def _delete(con: Console, client_id: str) -> Response:
    return delete(con, f"client registration {client_id}", f"{BASE}/{client_id}",
                  f"{BASE}?done=deleted",
                  lambda session: service.delete(session, client_id, actor=con.admin))


@router.post(BASE + "/{client_id}/save-as")
async def save_as(request: Request, client_id: str) -> Response:
    return await action(request, _save_as, client_id)


def _save_as(con: Console, client_id: str) -> Response:
    def change(session: Session) -> Response:
        client, secret = service.save_as(session, con.rt.hmac_key, client_id,
                                         con.text("save-as-name", 300), actor=con.admin)
        return _to_secret(con, client, secret)

    return con.attempt(change, lambda errors: _action_refused(con, client_id, errors),
                       conflict="save-as-name")


@router.post(BASE + "/{client_id}/regenerate")
async def regenerate(request: Request, client_id: str) -> Response:
    return await action(request, _regenerate, client_id)


def _regenerate(con: Console, client_id: str) -> Response:
    grace = number(con.text("grace", 40) or "0")

    def change(session: Session) -> Response:
        secret = service.regenerate_secret(session, con.rt.hmac_key, client_id,
                                           grace=grace, actor=con.admin)  # type: ignore[arg-type]
        return _to_secret(con, service.get(session, client_id), secret)

    return con.attempt(change, lambda errors: _action_refused(con, client_id, errors))


def _action_refused(con: Console, client_id: str, errors: dict[str, str]) -> Response:
    with con.reading() as session:
        client = service.get(session, client_id)
    values = _form_values(client)
    values["save-as-name"] = con.text("save-as-name", 300)
    values["grace"] = con.text("grace", 40)
    return _form(con, client, values, errors)


@router.post(BASE + "/{client_id}/revoke-tokens")
async def revoke_tokens(request: Request, client_id: str) -> Response:
    return await action(request, _revoke_tokens, client_id)


def _revoke_tokens(con: Console, client_id: str) -> Response:
    with con.writing() as session:
        service.revoke_tokens(session, client_id, actor=con.admin)
    return see_other(f"{BASE}/{client_id}?done=revoked")


@router.post(BASE + "/{client_id}/enable")
async def enable(request: Request, client_id: str) -> Response:
    return await action(request, _set_enabled, client_id, True)


@router.post(BASE + "/{client_id}/disable")
async def disable(request: Request, client_id: str) -> Response:
    return await action(request, _set_enabled, client_id, False)


def _set_enabled(con: Console, client_id: str, enabled: bool) -> Response:
    with con.writing() as session:
        service.set_enabled(session, client_id, enabled, actor=con.admin)
    return see_other(f"{BASE}/{client_id}?done={'enabled' if enabled else 'disabled'}")


# -- the secret, shown once ---------------------------------------------------------------------
def _cipher(con: Console) -> AESGCM:
    key = crypto.keyed_hash(con.rt.hmac_key, "console reveal cookie")
    return AESGCM(bytes.fromhex(key))


def _to_secret(con: Console, client: ClientRegistration, secret: str) -> Response:
    response = see_other(f"{BASE}/{client.client_id}/secret")
    if secret:
        nonce = os.urandom(12)
        plain = json.dumps({"client": client.client_id, "secret": secret,
                            "until": time.time() + REVEAL_SECONDS}).encode()
        sealed = nonce + _cipher(con).encrypt(nonce, plain, con.admin.encode())
        browser.set_cookie(con.rt, response, REVEAL, base64.urlsafe_b64encode(sealed).decode(),
                           REVEAL_SECONDS, "strict")
    return response


def _revealed(con: Console, client_id: str) -> str:
    """The secret the cookie holds for this client and this administrator, if still fresh."""
    value = con.request.cookies.get(browser.cookie_name(con.rt, REVEAL), "")
    try:
        sealed = base64.urlsafe_b64decode(value.encode())
        plain = json.loads(_cipher(con).decrypt(sealed[:12], sealed[12:], con.admin.encode()))
    except (ValueError, InvalidTag):
        return ""
    if plain.get("client") != client_id or float(plain.get("until", 0)) < time.time():
        return ""
    return str(plain.get("secret", ""))


@router.get(BASE + "/{client_id}/secret")
async def secret_page(request: Request, client_id: str) -> Response:
    return await view(request, _secret_page, client_id)


def _secret_page(con: Console, client_id: str) -> Response:
    secret = _revealed(con, client_id)
    with con.reading() as session:
        client = service.get(session, client_id)
        if secret and not crypto.equal(crypto.keyed_hash(con.rt.hmac_key, secret),
                                       client.secret_hash):
            secret = ""  # made again since: that one no longer works
    response = con.page("clients/secret.html", title=client.name, client=client, secret=secret,
                        base=BASE)
    browser.forget_cookie(con.rt, response, REVEAL)
    return response


@router.post(BASE + "/{client_id}/credentials")
async def credentials(request: Request, client_id: str) -> Response:
    return await action(request, _credentials, client_id)


def _credentials(con: Console, client_id: str) -> Response:
    secret = con.form.get("secret", "")
    with con.reading() as session:
        client = service.get(session, client_id)
    if client.public or not crypto.equal(
            crypto.keyed_hash(con.rt.hmac_key, secret), client.secret_hash):
        return con.message("No credentials to download", "The credentials file is offered "
                           "only with a secret just made. Regenerate the secret to get one.",
                           403)
    text = service.credentials_file(client, secret, con.rt.settings.base_url)
    return Response(text, media_type="text/plain; charset=utf-8", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{client.client_id}-credentials.txt"'})
