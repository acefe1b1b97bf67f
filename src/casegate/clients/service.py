"""Client registrations: used alike by the CLI, the console and the OAuth server."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit, crypto
from casegate.access import trust
from casegate.errors import Conflict, Invalid, NotFound
from casegate.oauth import metadata
from casegate.oauth.denylist import revoke_client_tokens
from casegate.storage.db import get_or_raise
from casegate.storage.models import (
    AuthorizationCode,
    ClientRegistration,
    Consent,
    IdentityMapping,
    Operator,
    RefreshToken,
    TokenFamily,
)

# the grants a registration may allow (refresh_token: the client gets refresh tokens with
# the code and password grants; the assertion grants need an identity mapping)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token", "password",
               JWT_BEARER, SAML2_BEARER)
SHORT_NAMES = {"jwt-bearer": JWT_BEARER, "saml2-bearer": SAML2_BEARER}
ASSERTION_GRANTS = {JWT_BEARER: "jwt", SAML2_BEARER: "saml"}
AUTH_METHODS = ("client_secret", "private_key_jwt")
GRANT_WARNING = ("the password grant lets the client see the person's password; RFC 9700 "
                 "§2.4 says it must not be used. Prefer authorization_code with PKCE.")
MAX_LIFETIME = 366 * 24 * 3600
MAX_GRACE = 7 * 24 * 3600


def check_lifetime(value: object) -> int:
    """A positive whole number of seconds, as Pega's form asks (bool is no number)."""
    # ASCII only: str.isdigit() also passes "²" (which int() refuses) and "٣" (which it takes)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Invalid("lifetime", "the token lifetime must be a positive whole number of seconds")
    if value > MAX_LIFETIME:
        raise Invalid("lifetime", f"the token lifetime is at most {MAX_LIFETIME} seconds")
    return value


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def check_redirect_uri(uri: str) -> str:
    """Absolute, https (http only on loopback, RFC 8252 §7.3), no fragment, no wildcard:
    redirect URIs are later compared by exact string match (RFC 9700 §2.1)."""
    parts = urlsplit(uri)
    try:
        host = parts.hostname
    except ValueError:  # an unparseable authority, e.g. "[::1" without its bracket
        host = None
    loopback = parts.scheme == "http" and host in LOOPBACK and "@" not in parts.netloc
    if len(uri) > 2000 or not uri.isprintable() or " " in uri:
        raise Invalid("redirect-uri", "a redirect URI is at most 2000 printable characters")
    if parts.scheme != "https" and not loopback:
        raise Invalid("redirect-uri", "a redirect URI uses https (http only on 127.0.0.1, "
                                      "[::1] or localhost)")
    if not parts.netloc or parts.fragment or "#" in uri or "*" in parts.netloc:
        raise Invalid("redirect-uri", "a redirect URI is absolute, with no fragment and "
                                      "no wildcard")
    return uri


def full_grant_names(grants: list[str]) -> list[str]:
    return list(dict.fromkeys(SHORT_NAMES.get(g, g) for g in grants))


def check_identity_mapping(session: Session, grants: list[str], mapping_name: str | None) -> None:
    """An assertion grant turns assertions into operators through one identity mapping."""
    wanted = {ASSERTION_GRANTS[g] for g in grants if g in ASSERTION_GRANTS}
    if not wanted:
        if mapping_name:
            raise Invalid("identity-mapping", "an identity mapping goes with the jwt-bearer or "
                                              "saml2-bearer grant")
        return
    if len(wanted) > 1:
        raise Invalid("grant", "one client registration per assertion grant (each has its own "
                               "identity mapping)")
    if not mapping_name:
        raise Invalid("identity-mapping", "an assertion grant needs --identity-mapping")
    mapping = get_or_raise(session, IdentityMapping, mapping_name, "identity mapping")
    if mapping.type not in wanted:
        raise Invalid("identity-mapping", f"{mapping_name!r} maps {mapping.type} assertions")


def check_keys(auth_method: str, jwks: str | None, jwks_url: str | None,
               cacert: str | None) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """private_key_jwt clients are registered with their public keys (RFC 7523 §2.2)."""
    if auth_method not in AUTH_METHODS:
        raise Invalid("auth-method", "client_secret or private_key_jwt")
    if auth_method == "client_secret":
        if jwks or jwks_url or cacert:
            raise Invalid("auth-method", "keys (--jwks-file, --jwks-url) go with "
                                         "--auth-method private_key_jwt")
        return None, None, None
    if (jwks is None) == (jwks_url is None):
        raise Invalid("keys", "private_key_jwt needs --jwks-file or --jwks-url (one of them)")
    return trust.key_source(jwks, jwks_url, None, cacert)


def check_grants(session: Session, grants: list[str], operator_id: str | None,
                 public: bool = False, redirect_uris: list[str] | None = None) -> None:
    if not grants:
        raise Invalid("grant", "allow at least one grant type")
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if unknown:
        raise Invalid("grant", f"unsupported grant type {unknown[0][:64]!r}; "
                               f"supported: {', '.join(GRANT_TYPES)}")
    if "authorization_code" in grants and not redirect_uris:
        raise Invalid("redirect-uri", "the authorization code grant needs a redirect URI")
    if "refresh_token" in grants and not {"authorization_code", "password"} & set(grants):
        raise Invalid("grant", "refresh tokens come with authorization_code or password")
    if public and not set(grants) <= {"authorization_code", "refresh_token"}:
        # a public client proves nothing about itself: only PKCE-bound grants are safe
        raise Invalid("grant", "a public client may only use authorization_code "
                               "(and refresh_token)")
    if "client_credentials" not in grants:
        return
    if not operator_id:
        raise Invalid("operator", "client credentials need the service operator the client acts as")
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound("operator", operator_id)
    if operator.kind != "service":
        # the seeds' caution: never an operator that represents a person who can log in
        raise Invalid("operator", f"{operator_id} can log in; a client must act as a service "
                                  "operator reserved for it")


def check_refresh_lifetime(value: object) -> int:
    try:
        return check_lifetime(value)
    except Invalid as exc:
        raise Invalid("refresh-lifetime", "the refresh token lifetime is a positive whole "
                                          f"number of seconds, at most {MAX_LIFETIME}") from exc


def create(session: Session, key: bytes, *, name: str, grants: list[str],
           operator_id: str | None, lifetime: object, scopes: list[str] | None = None,
           application: str = "", redirect_uris: list[str] | None = None,
           public: bool = False, allow_plain_pkce: bool = False,
           refresh_lifetime: object = 30 * 24 * 3600,
           post_logout_redirect_uris: list[str] | None = None,
           identity_mapping: str | None = None, auth_method: str = "client_secret",
           jwks: str | None = None, jwks_url: str | None = None, cacert: str | None = None,
           actor: str = "") -> tuple[ClientRegistration, str]:
    """A new registration and its secret (empty for a public client, or one that signs
    client assertions with its own keys, which have none)."""
    values = _checked(session, None, name=name, grants=grants, operator_id=operator_id,
                      lifetime=lifetime, scopes=scopes, application=application,
                      redirect_uris=redirect_uris, public=public,
                      allow_plain_pkce=allow_plain_pkce, refresh_lifetime=refresh_lifetime,
                      post_logout_redirect_uris=post_logout_redirect_uris,
                      identity_mapping=identity_mapping)
    if public and auth_method != "client_secret":
        raise Invalid("auth-method", "a public client has no keys")
    keys, url, ca = check_keys(auth_method, jwks, jwks_url, cacert)
    secret = "" if public or auth_method == "private_key_jwt" else crypto.new_secret()
    client = ClientRegistration(
        client_id=_unique_id(session),
        secret_hash=crypto.keyed_hash(key, secret) if secret else "", public=public,
        auth_method=auth_method, jwks=keys, jwks_url=url, jwks_cacert=ca, **values)
    session.add(client)
    audit.record(session, "client.created", actor=actor, subject=client.client_id,
                 name=values["name"])
    return client, secret


def update(session: Session, client_id: str, *, name: str, grants: list[str],
           operator_id: str | None, lifetime: object, scopes: list[str] | None,
           application: str, redirect_uris: list[str] | None, allow_plain_pkce: bool,
           refresh_lifetime: object, post_logout_redirect_uris: list[str] | None,
           identity_mapping: str | None = None, jwks: str | None = None,
           jwks_url: str | None = None, cacert: str | None = None,
           actor: str = "") -> ClientRegistration:
    """The registration's settings changed at once, by the rules of `create`; its ID, secret
    and kind (public or confidential, its authentication method) stay. A private_key_jwt
    client's keys are replaced when new ones are given."""
    client = get(session, client_id)
    values = _checked(session, client_id, name=name, grants=grants, operator_id=operator_id,
                      lifetime=lifetime, scopes=scopes, application=application,
                      redirect_uris=redirect_uris, public=client.public,
                      allow_plain_pkce=allow_plain_pkce, refresh_lifetime=refresh_lifetime,
                      post_logout_redirect_uris=post_logout_redirect_uris,
                      identity_mapping=identity_mapping)
    if jwks is not None or jwks_url is not None or cacert is not None:
        values["jwks"], values["jwks_url"], values["jwks_cacert"] = check_keys(
            client.auth_method, jwks, jwks_url, cacert)
    changed = sorted(k for k, v in values.items() if getattr(client, k) != v)
    for field, value in values.items():
        setattr(client, field, value)
    audit.record(session, "client.updated", actor=actor, subject=client_id, changed=changed)
    return client


def delete(session: Session, client_id: str, actor: str = "") -> None:
    """The registration gone with its codes, refresh tokens and consents; every access token
    it was issued fails at the next request (bearer validation finds no client)."""
    client = get(session, client_id)
    revoke_client_tokens(session, client)
    families = select(TokenFamily.id).where(TokenFamily.client_id == client_id)
    session.execute(sql_delete(RefreshToken).where(RefreshToken.family_id.in_(families)))
    session.execute(sql_delete(TokenFamily).where(TokenFamily.client_id == client_id))
    session.execute(sql_delete(AuthorizationCode).where(
        AuthorizationCode.client_id == client_id))
    session.execute(sql_delete(Consent).where(Consent.client_id == client_id))
    session.delete(client)
    audit.record(session, "client.deleted", actor=actor, subject=client_id, name=client.name,
                 tokens_revoked=True)


def _checked(session: Session, client_id: str | None, *, name: str, grants: list[str],
             operator_id: str | None, lifetime: object, scopes: list[str] | None,
             application: str, redirect_uris: list[str] | None, public: bool,
             allow_plain_pkce: bool, refresh_lifetime: object,
             post_logout_redirect_uris: list[str] | None,
             identity_mapping: str | None) -> dict[str, Any]:
    """A registration's settings checked by every rule, as the columns that hold them."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("name", "a client registration needs a name of 1 to 200 characters")
    same_name = session.scalar(select(ClientRegistration).where(ClientRegistration.name == name))
    if same_name is not None and same_name.client_id != client_id:
        raise Conflict(f"a client registration named {name!r} already exists")
    if len(application) > 200:
        raise Invalid("application", "an application name is at most 200 characters")
    uris = [check_redirect_uri(u) for u in dict.fromkeys(redirect_uris or [])]
    grants = full_grant_names(grants)
    check_grants(session, grants, operator_id, public, uris)
    check_identity_mapping(session, grants, identity_mapping)
    return {
        "name": name, "grant_types": list(dict.fromkeys(grants)),
        "operator_id": operator_id or None,
        "token_lifetime": check_lifetime(lifetime), "scopes": list(scopes or []),
        "application": application, "redirect_uris": uris,
        "allow_plain_pkce": allow_plain_pkce,
        "refresh_lifetime": check_refresh_lifetime(refresh_lifetime),
        "post_logout_redirect_uris": [check_redirect_uri(u) for u in
                                      dict.fromkeys(post_logout_redirect_uris or [])],
        "identity_mapping": identity_mapping,
    }


def _unique_id(session: Session) -> str:
    while True:
        client_id = crypto.new_client_id()
        if session.get(ClientRegistration, client_id) is None:
            return client_id


def get(session: Session, client_id: str) -> ClientRegistration:
    return get_or_raise(session, ClientRegistration, client_id, "client registration")


def list_all(session: Session) -> list[ClientRegistration]:
    return list(session.scalars(select(ClientRegistration).order_by(ClientRegistration.name)))


def regenerate_secret(session: Session, key: bytes, client_id: str, grace: int = 0,
                      actor: str = "") -> str:
    """A new secret; the old one fails at once and, as in Pega, the client's tokens are revoked.

    With a grace period (seconds) the old secret keeps working that long and the tokens stay
    valid, so a deployed client can be moved to the new secret without an outage.
    """
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE:
        raise Invalid("grace", f"the grace period is 0 to {MAX_GRACE} whole seconds")
    client = get(session, client_id)
    if client.public or client.auth_method != "client_secret":
        raise Invalid("client", "this client has no secret (public, or private_key_jwt)")
    secret = crypto.new_secret()
    client.old_secret_hash = client.secret_hash if grace else None
    client.old_secret_until = time.time() + grace if grace else 0.0
    client.secret_hash = crypto.keyed_hash(key, secret)
    if not grace:
        revoke_client_tokens(session, client)
    audit.record(session, "client.secret_regenerated", actor=actor, subject=client_id,
                 grace=grace)
    return secret


def revoke_tokens(session: Session, client_id: str, actor: str = "") -> ClientRegistration:
    client = get(session, client_id)
    revoke_client_tokens(session, client)
    audit.record(session, "client.tokens_revoked", actor=actor, subject=client_id)
    return client


def set_enabled(session: Session, client_id: str, enabled: bool,
                actor: str = "") -> ClientRegistration:
    client = get(session, client_id)
    client.enabled = enabled
    audit.record(session, "client.enabled" if enabled else "client.disabled",
                 actor=actor, subject=client_id)
    return client


def set_lifetime(session: Session, client_id: str, lifetime: object,
                 actor: str = "") -> ClientRegistration:
    client = get(session, client_id)
    client.token_lifetime = check_lifetime(lifetime)
    audit.record(session, "client.updated", actor=actor, subject=client_id,
                 token_lifetime=client.token_lifetime)
    return client


def save_as(session: Session, key: bytes, client_id: str, name: str,
            actor: str = "") -> tuple[ClientRegistration, str]:
    """Pega's "Save as": the same settings under a new name, with its own ID and secret."""
    source = get(session, client_id)
    return create(session, key, name=name, grants=list(source.grant_types),
                  operator_id=source.operator_id, lifetime=source.token_lifetime,
                  scopes=list(source.scopes), application=source.application,
                  redirect_uris=list(source.redirect_uris), public=source.public,
                  allow_plain_pkce=source.allow_plain_pkce,
                  refresh_lifetime=source.refresh_lifetime,
                  post_logout_redirect_uris=list(source.post_logout_redirect_uris),
                  identity_mapping=source.identity_mapping, auth_method=source.auth_method,
                  jwks=json.dumps(source.jwks) if source.jwks else None,
                  jwks_url=source.jwks_url, cacert=source.jwks_cacert, actor=actor)


def credentials_file(client: ClientRegistration, secret: str, base_url: str) -> str:
    """The .txt a user downloads, offered only while the secret is on show."""
    return (
        f"Client Name: {client.name}\n"
        f"Client ID: {client.client_id}\n"
        + (f"Client Secret: {secret}\n" if secret
           else "Client authentication: private_key_jwt (no secret)\n"
           if client.auth_method == "private_key_jwt" else "Client type: public (no secret)\n")
        + (f"Authorization endpoint: {base_url}{metadata.AUTHORIZE}\n"
           if "authorization_code" in client.grant_types else "")
        + f"Access token endpoint: {base_url}{metadata.TOKEN}\n"
        f"Token revocation endpoint: {base_url}{metadata.REVOKE}\n"
    )


def describe(client: ClientRegistration, base_url: str) -> dict[str, object]:
    """What may be shown at any time: everything but the secret."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "grant_types": list(client.grant_types),
        "operator": client.operator_id,
        "token_lifetime": client.token_lifetime,
        "scopes": list(client.scopes),
        "redirect_uris": list(client.redirect_uris),
        "public": client.public,
        "allow_plain_pkce": client.allow_plain_pkce,
        "refresh_lifetime": client.refresh_lifetime,
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "identity_mapping": client.identity_mapping,
        "auth_method": ("none" if client.public else client.auth_method),
        "jwks_url": client.jwks_url,
        "application": client.application,
        "enabled": client.enabled,
        "token_endpoint": base_url + metadata.TOKEN,
        "revocation_endpoint": base_url + metadata.REVOKE,
    }
