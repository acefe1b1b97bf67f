"""Remote systems: the producers this casegate forwards remote case types to, with the client
registration made for it there. The client secret is kept encrypted (AES-GCM) under a key
derived from casegate's secret key, which lives outside the database: a stolen dump holds no
usable secret."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.access import trust
from casegate.errors import CasegateError, Conflict, Invalid
from casegate.oauth import metadata
from casegate.storage.db import get_or_raise
from casegate.storage.models import CaseType, RemoteSystem

SECRET_INFO = b"casegate remote system client secret v1"


def _cipher(key: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRET_INFO).derive(key)
    return AESGCM(derived)


def encrypt_secret(key: bytes, name: str, secret: str) -> str:
    nonce = os.urandom(12)
    # the system's name is bound in: a ciphertext copied to another row does not decrypt
    sealed = _cipher(key).encrypt(nonce, secret.encode(), name.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(key: bytes, system: RemoteSystem) -> str:
    try:
        raw = base64.urlsafe_b64decode(system.secret_encrypted)
        return _cipher(key).decrypt(raw[:12], raw[12:], system.name.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise CasegateError(f"the client secret of remote system {system.name!r} cannot be "
                            "decrypted (was the secret key changed?): run `casegate "
                            "remotesystem update --credentials-file`") from exc


def check_url(url: str) -> str:
    url = trust.check_https_url(url.strip().rstrip("/"), "url")
    if "?" in url or "#" in url or "@" in url:
        raise Invalid("url", "the producer's base URL, e.g. https://producer.example:8443")
    return url


def parse_credentials(text: str) -> dict[str, str]:
    """A credentials file's "Name: value" lines, by lower-case name."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields


def credentials(fields: dict[str, str], url: str) -> tuple[str, str, str]:
    """(client ID, secret, token endpoint) from a credentials file `client credentials`
    wrote (fields by lower-case name)."""
    client_id, secret = fields.get("client id", ""), fields.get("client secret", "")
    if not client_id or not secret:
        raise Invalid("credentials-file", "the file lacks the Client ID or the Client Secret "
                                          "(write it with `casegate client credentials ID`)")
    endpoint = fields.get("access token endpoint") or url + metadata.TOKEN
    return client_id.strip(), secret.strip(), trust.check_https_url(endpoint, "credentials-file")


def create(session: Session, key: bytes, name: str, url: str, fields: dict[str, str],
           cacert: str | None = None, actor: str = "") -> RemoteSystem:
    name = trust.check_name("remote system", name)
    if session.get(RemoteSystem, name) is not None:
        raise Conflict(f"remote system {name!r} already exists")
    url = check_url(url)
    client_id, secret, endpoint = credentials(fields, url)
    system = RemoteSystem(name=name, url=url, token_endpoint=endpoint, client_id=client_id,
                          secret_encrypted=encrypt_secret(key, name, secret),
                          cacert=trust.check_cacert(cacert))
    session.add(system)
    session.flush()
    audit.record(session, "remotesystem.created", actor=actor, subject=name, url=url,
                 client_id=client_id)
    return system


def update(session: Session, key: bytes, name: str, fields: dict[str, str] | None = None,
           cacert: str | None = None, url: str | None = None, actor: str = "") -> RemoteSystem:
    system = get(session, name)
    if url is not None:
        system.url = check_url(url)
    if fields is not None:
        system.client_id, secret, system.token_endpoint = credentials(fields, system.url)
        system.secret_encrypted = encrypt_secret(key, name, secret)
    if cacert is not None:
        system.cacert = trust.check_cacert(cacert)
    session.flush()
    audit.record(session, "remotesystem.updated", actor=actor, subject=name,
                 credentials=fields is not None, cacert=cacert is not None)
    return system


def delete(session: Session, name: str, actor: str = "") -> None:
    """Refused while case types of this casegate are forwarded to the system."""
    system = get(session, name)
    used = session.scalar(select(CaseType.id).where(CaseType.remote_system == name)
                          .order_by(CaseType.id))
    if used is not None:
        raise Conflict(f"remote system {name!r} is used by case type {used!r}: delete that "
                       "case type first")
    session.delete(system)
    audit.record(session, "remotesystem.deleted", actor=actor, subject=name)


def get(session: Session, name: str) -> RemoteSystem:
    return get_or_raise(session, RemoteSystem, name, "remote system")


def list_all(session: Session) -> list[RemoteSystem]:
    return list(session.scalars(select(RemoteSystem).order_by(RemoteSystem.name)))


def describe(session: Session, system: RemoteSystem) -> dict[str, object]:
    """Everything but the secret."""
    types = session.scalars(select(CaseType.id).where(CaseType.remote_system == system.name)
                            .order_by(CaseType.id))
    return {"name": system.name, "url": system.url, "token_endpoint": system.token_endpoint,
            "client_id": system.client_id, "cacert": system.cacert is not None,
            "case_types": list(types)}
