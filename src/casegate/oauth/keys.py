"""Signing keys: made and kept in the database (the private half encrypted), published as a
JWKS, rotated on demand or when old, and unpublished once every token they signed has expired.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from typing import Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, KeyParameters, RSAKey, import_key
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, sessionmaker

from casegate.crypto import Sealer
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import ClientRegistration, SigningKey

# the only algorithms casegate signs with, and so the only ones it accepts on its own tokens
ALGORITHMS = ("ES256", "RS256")
# how long a process may keep signing with a key after another process retired it
RELOAD_EVERY = 30.0
DAY = 86400
Key = ECKey | RSAKey
log = logging.getLogger("casegate.keys")


def create_key(session: Session, alg: str, sealer: Sealer) -> SigningKey:
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg}")
    kid = secrets.token_urlsafe(12)
    params: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    key: Key = (
        ECKey.generate_key("P-256", parameters=params)
        if alg == "ES256"
        else RSAKey.generate_key(2048, parameters=params)
    )
    private = json.dumps(dict(key.as_dict(private=True))).encode()
    row = SigningKey(kid=kid, alg=alg, public_jwk=dict(key.as_dict(private=False)),
                     sealed_private_jwk=sealer.seal(private, kid))
    session.add(row)
    return row


def longest_token_lifetime(session: Session, settings: Settings) -> int:
    """The longest an access or ID token signed now may live (every client's lifetime)."""
    longest = session.scalar(select(func.max(ClientRegistration.token_lifetime)))
    return max(settings.token_lifetime, longest or 0)


def rotate(session: Session, settings: Settings, sealer: Sealer, alg: str | None = None, *,
           replacing: str | None = None, now: float | None = None) -> SigningKey | None:
    """A new current key. The current one is retired: still published (its tokens verify)
    until the last token it may have signed has expired, then deleted.

    `replacing`: retire only if that key is still current, else do nothing and answer None.
    The conditional UPDATE makes a scheduled rotation happen once when several processes
    notice together: the others wait on the row (PostgreSQL) or the write lock (SQLite),
    then find it already retired.
    """
    now = time.time() if now is None else now
    until = (now + RELOAD_EVERY + longest_token_lifetime(session, settings)
             + settings.clock_skew)
    retire = (update(SigningKey).where(SigningKey.retired_at.is_(None))
              .values(retired_at=now, published_until=until))
    if replacing is not None:
        retire = retire.where(SigningKey.kid == replacing)
    result: CursorResult[Any] = session.execute(retire)  # type: ignore[assignment]
    if replacing is not None and result.rowcount == 0:
        return None
    session.execute(delete(SigningKey).where(SigningKey.published_until < now))
    return create_key(session, alg or settings.signing_alg, sealer)


def published(session: Session, now: float | None = None) -> list[SigningKey]:
    """The keys in the JWKS, oldest first (the last one not retired is the current key)."""
    now = time.time() if now is None else now
    return list(session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.published_until.is_(None), SigningKey.published_until > now))
        .order_by(SigningKey.created_at)))


def rotation_due(row: SigningKey, settings: Settings, now: float) -> bool:
    return bool(settings.key_rotation_days) and (
        row.created_at + settings.key_rotation_days * DAY <= now)


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


# json.dumps with options builds an encoder per call: this one is built once
CLAIMS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Signer:
    """Compact JWS (RFC 7515) signing with one key, straight on `cryptography`.

    The same bytes joserfc's jwt.encode makes (its header order and JSON separators), for
    ~40 % of its CPU: joserfc re-checks the header, the key's use and the algorithm
    registry on every call (bench/README.md). Verification stays joserfc's, with its
    algorithm allow-list.
    """

    def __init__(self, key: Key) -> None:
        if key.alg not in ALGORITHMS:
            raise ValueError(f"unsupported signing algorithm {key.alg}")
        self.kid, self.alg = key.kid, key.alg
        private = key.private_key
        assert private is not None, "a signing key has its private half"
        self._private = private
        # made once, not per signature (both stateless; isinstance of an ABC costs a lookup)
        self._ecdsa = ec.ECDSA(hashes.SHA256())
        self._is_ec = isinstance(private, ec.EllipticCurvePrivateKey)
        self._headers: dict[str, bytes] = {}

    def _header(self, typ: str) -> bytes:
        header = self._headers.get(typ)
        if header is None:  # as joserfc orders it: typ first
            header = b64url(json.dumps({"typ": typ, "alg": self.alg, "kid": self.kid},
                                       separators=(",", ":")).encode("ascii"))
            self._headers[typ] = header
        return header

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        payload = CLAIMS_JSON(claims).encode("utf-8")
        signing_input = self._header(typ) + b"." + b64url(payload)
        private = self._private
        if self._is_ec:  # ES256: raw r || s (RFC 7518 §3.4)
            r, s = decode_dss_signature(
                cast(ec.EllipticCurvePrivateKey, private).sign(signing_input, self._ecdsa))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:  # RS256
            signature = cast(rsa.RSAPrivateKey, private).sign(signing_input, padding.PKCS1v15(),
                                                             hashes.SHA256())
        return (signing_input + b"." + b64url(signature)).decode("ascii")


class KeyRing:
    """This process's view of the signing keys, reloaded from the database when stale.

    Each process reloads on its own (every RELOAD_EVERY seconds, and at once, at most once
    a second, for a token signed by a key it has not seen), so a rotation made by another
    process or by `casegate keys rotate` reaches every process without a restart. The
    process that reloads and finds the current key older than CASEGATE_KEY_ROTATION_DAYS
    rotates it (once: see rotate).
    """

    def __init__(self, factory: sessionmaker[Session], settings: Settings,
                 max_age: float = RELOAD_EVERY) -> None:
        self._factory = factory
        self._settings = settings
        self._sealer = Sealer(settings.hmac_key())
        self.max_age = max_age
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._current: Key | None = None
        self._signer: Signer | None = None
        self._loaded_at = 0.0

    def load(self) -> None:
        now = time.time()
        with self._factory() as session:
            rows = published(session, now)
        live = [row for row in rows if row.retired_at is None]
        if live and rotation_due(live[-1], self._settings, now):
            with transaction(self._factory) as session:
                made = rotate(session, self._settings, self._sealer, replacing=live[-1].kid,
                              now=now)
            if made is not None:
                log.info("signing key %s replaced by %s (older than %d days)", live[-1].kid,
                         made.kid, self._settings.key_rotation_days)
            with self._factory() as session:
                rows = published(session, now)
            live = [row for row in rows if row.retired_at is None]
        known = self._keys
        keys = {row.kid: known.get(row.kid) or self._open(row) for row in rows}
        current = keys[live[-1].kid] if live else None
        signer = self._signer
        if current is not None and (signer is None or signer.kid != current.kid):
            signer = Signer(current)
        with self._lock:
            self._keys = keys
            self._current = current
            self._signer = signer if current is not None else None
            self._loaded_at = time.monotonic()

    def _open(self, row: SigningKey) -> Key:
        key = import_key(json.loads(self._sealer.open(row.sealed_private_jwk, row.kid)))
        assert isinstance(key, ECKey | RSAKey)
        return key

    def current(self) -> Key:
        if self._current is None or time.monotonic() - self._loaded_at > self.max_age:
            self.load()
        if self._current is None:
            raise RuntimeError("no signing key: run `casegate init`")
        return self._current

    def signer(self) -> Signer:
        """The current key's signer (reloaded as current() is)."""
        self.current()
        assert self._signer is not None
        return self._signer

    def verification_key(self, kid: str) -> Key | None:
        if time.monotonic() - self._loaded_at > self.max_age:
            self.load()  # a key unpublished elsewhere stops verifying here too
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._loaded_at > 1.0:
            self.load()
            key = self._keys.get(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        self.current()
        return {"keys": [dict(key.as_dict(private=False)) for key in self._keys.values()]}
