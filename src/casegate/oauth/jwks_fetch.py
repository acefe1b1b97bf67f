"""Keys published at a JWKS URL, fetched over verified HTTPS and cached per process.

The URL comes from a token profile or a client registration an administrator made, never
from a token's header (`jku`/`x5u` are ignored). A failure to fetch is the caller's
`invalid_grant` / `invalid_client`; the cache is an optimisation only (another process that
lacks it fetches for itself).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = 5.0  # seconds, for connecting and for each read
MAX_BYTES = 256 * 1024
FRESH_FOR = 300.0  # seconds a fetched JWKS is used without asking again
REFETCH_EVERY = 60.0  # an unknown `kid` asks again at most this often
clock = time.monotonic  # a module attribute, so a test can move this cache's time alone


class JwksUnavailable(Exception):
    """The JWKS could not be fetched or is not a JWKS; the reason is safe to show."""


def tls_context(cacert: str | None) -> ssl.SSLContext:
    """Certificate verification always: the system's trust store, or exactly this CA."""
    if cacert:
        return ssl.create_default_context(cadata=cacert)
    return ssl.create_default_context()


def fetch(url: str, cacert: str | None) -> dict[str, Any]:
    if not url.startswith("https://"):
        raise JwksUnavailable("the JWKS URL is not https")
    try:
        with httpx.Client(verify=tls_context(cacert), timeout=TIMEOUT,
                          follow_redirects=False) as client, \
                client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise JwksUnavailable(f"the JWKS URL answered {response.status_code}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise JwksUnavailable("the JWKS is too large")
    except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
        raise JwksUnavailable(f"the JWKS could not be fetched ({type(exc).__name__})") from exc
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise JwksUnavailable("the JWKS is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the JWKS has no keys array")
    return document


@dataclass
class Entry:
    document: dict[str, Any]
    fetched_at: float


class JwksCache:
    """(url, cacert) -> the last JWKS fetched; refetched when stale, or for an unknown `kid`
    at most once a minute (so a flood of made-up kids cannot make casegate hammer the URL)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._lock = threading.Lock()

    def get(self, url: str, cacert: str | None, want_kid: str | None = None) -> dict[str, Any]:
        key = (url, cacert or "")
        with self._lock:
            entry = self._entries.get(key)
        now = clock()
        if entry is not None:
            age = now - entry.fetched_at
            known = want_kid is None or any(
                k.get("kid") == want_kid for k in entry.document["keys"] if isinstance(k, dict))
            if age < FRESH_FOR and (known or age < REFETCH_EVERY):
                return entry.document
        document = fetch(url, cacert)
        with self._lock:
            self._entries[key] = Entry(document, clock())
        return document

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = JwksCache()
