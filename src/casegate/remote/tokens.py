"""Producer tokens: a short-lived JWT signed for the acting operator with this casegate's own
signing keys (the generation side of a token profile), exchanged at the producer's token
endpoint (RFC 7523 §2.1, with the remote system's client authentication), cached per
(remote system, operator, scope) until shortly before it expires.

The cache is a per-process optimisation: another process without it exchanges for itself.
One exchange is in flight per key: parallel requests for one operator wait for it instead
of each exchanging."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from casegate.crypto import token_id
from casegate.oauth.keys import KeyRing
from casegate.oauth.tokens import sign

ASSERTION_LIFETIME = 120  # seconds; the producer accepts at most 300 (SECURITY Decision 7)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assertion(keys: KeyRing, issuer: str, operator_id: str, audience: str,
              lifetime: int = ASSERTION_LIFETIME) -> str:
    """RFC 7523 §3: iss = this casegate, sub = the operator, aud = the producer's token
    endpoint, a fresh jti (the producer refuses a replay)."""
    now = int(time.time())
    claims = {"iss": issuer, "sub": operator_id, "aud": audience, "iat": now,
              "exp": now + min(lifetime, 300), "jti": token_id()}
    return sign(keys, claims, "JWT")


def refresh_margin(expires_in: float) -> float:
    # renewed a little before exp, so a token never expires between the check and its use
    return min(30.0, expires_in / 4)


@dataclass(frozen=True)
class Cached:
    token: str
    renew_at: float  # time.monotonic()


Key = tuple[str, str, str, str]  # remote system, its client ID, operator, scope


class TokenCache:
    def __init__(self) -> None:
        self._tokens: dict[Key, Cached] = {}
        self._locks: dict[Key, threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, key: Key) -> str | None:
        cached = self._tokens.get(key)
        return cached.token if cached and cached.renew_at > time.monotonic() else None

    def get(self, key: Key, exchange: Callable[[], tuple[str, float]]) -> str:
        """A cached token, or the one `exchange` gets (token, expires_in seconds)."""
        token = self._fresh(key)
        if token is not None:
            return token
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # single flight: the others find the token this exchange cached
            token = self._fresh(key)
            if token is None:
                token, expires_in = exchange()
                self._tokens[key] = Cached(token, time.monotonic() + expires_in
                                           - refresh_margin(expires_in))
            return token

    def drop(self, key: Key, token: str) -> None:
        """The producer refused this token: forget it (unless another was cached since)."""
        with self._guard:
            cached = self._tokens.get(key)
            if cached is not None and cached.token == token:
                del self._tokens[key]
