"""Signing keys: made and kept in the database, published as a JWKS, rotated."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from joserfc.jwk import ECKey, KeyParameters, RSAKey, import_key
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.models import SigningKey

# the only algorithms casegate signs with, and so the only ones it accepts on its own tokens
ALGORITHMS = ("ES256", "RS256")
Key = ECKey | RSAKey


def create_key(session: Session, alg: str) -> SigningKey:
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg}")
    kid = secrets.token_urlsafe(12)
    params: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    key: Key = (
        ECKey.generate_key("P-256", parameters=params)
        if alg == "ES256"
        else RSAKey.generate_key(2048, parameters=params)
    )
    row = SigningKey(kid=kid, alg=alg, private_jwk=dict(key.as_dict(private=True)))
    session.add(row)
    return row


def rotate(session: Session, alg: str) -> SigningKey:
    """A new current key; the old ones stay published so their tokens still verify."""
    for row in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = time.time()
    return create_key(session, alg)


class KeyRing:
    """This process's view of the signing keys, reloaded from the database when stale.

    Each process reloads on its own: after a rotation, a token signed by a key this process
    has not seen yet triggers a reload (at most one per second), so no process needs another's
    memory.
    """

    def __init__(self, factory: sessionmaker[Session], max_age: float = 30.0) -> None:
        self._factory = factory
        self._max_age = max_age
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._current: Key | None = None
        self._loaded_at = 0.0

    def load(self) -> None:
        with self._factory() as session:
            rows = list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))
        keys = {row.kid: _import(row.private_jwk) for row in rows}
        live = [row for row in rows if row.retired_at is None]
        with self._lock:
            self._keys = keys
            self._current = keys[live[-1].kid] if live else None
            self._loaded_at = time.monotonic()

    def current(self) -> Key:
        if self._current is None or time.monotonic() - self._loaded_at > self._max_age:
            self.load()
        if self._current is None:
            raise RuntimeError("no signing key: run `casegate init`")
        return self._current

    def verification_key(self, kid: str) -> Key | None:
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._loaded_at > 1.0:
            self.load()
            key = self._keys.get(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        self.current()
        return {"keys": [dict(key.as_dict(private=False)) for key in self._keys.values()]}


def _import(jwk: dict[str, Any]) -> Key:
    key = import_key(jwk)
    assert isinstance(key, ECKey | RSAKey)
    return key
