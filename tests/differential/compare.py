"""What two casegates answered, made comparable, and the differences between them.

An answer is its status, its headers and its body; JWTs in it (access and ID tokens) are
decoded to their header and claims. Left out, as they differ between any two requests: the
Date and request-ID headers, Content-Length (the bodies are compared), the claims and fields
that are times or per-token IDs (`jti`, `iat`, `exp`, `nbf`, ...), and the server's own base
URL (each server listens on its own port).

Values each server generates at random (refresh tokens, codes, cookies, family IDs) cannot be
equal; they are compared as names instead: a random-looking value of one server must stand
for the same value of the other everywhere it appears (a bijection), so a refresh token that
came back, or a family ID in an audit row, is still checked to be the same one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

VOLATILE_HEADERS = {"date", "x-request-id", "content-length", "server"}
VOLATILE_KEYS = {"jti", "iat", "exp", "nbf", "auth_time", "at_hash", "c_hash", "revoked_at",
                 "expires_at", "createTime", "lastUpdateTime", "at", "id", "request_id"}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# 16 random bytes or more in base64url: token IDs, secrets, codes, cookie values
RANDOM = re.compile(r"([A-Za-z0-9_-]{20,})")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def normalize(value: Any, base: str) -> Any:
    """The comparable form of a JSON value (or header text) from the server at `base`."""
    if isinstance(value, dict):
        return {k: normalize(v, base) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [normalize(v, base) for v in value]
    if isinstance(value, str):
        if JWT.fullmatch(value):
            header, claims, _ = value.split(".")
            try:
                return {"jwt": normalize(_b64json(header), base),
                        "claims": normalize(_b64json(claims), base)}
            except (ValueError, binascii.Error):
                pass
        return ISO_TIME.sub("<time>", value.replace(base, "<base>"))
    return value


def answer(response: httpx.Response, base: str) -> dict[str, Any]:
    headers = sorted((name.lower(), normalize(value, base))
                     for name, value in response.headers.multi_items()
                     if name.lower() not in VOLATILE_HEADERS)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return {"status": response.status_code, "headers": headers, "body": normalize(body, base)}


def _random(text: str) -> bool:
    # both cases of letters: a generated value, never a name such as client_credentials
    return bool(RANDOM.fullmatch(text)) and text.lower() != text and text.upper() != text


@dataclass
class Comparer:
    """Differences between the two servers' records, with the bijection of random values."""

    found: list[str] = field(default_factory=list)
    a_to_b: dict[str, str] = field(default_factory=dict)
    b_to_a: dict[str, str] = field(default_factory=dict)

    def strings(self, a: str, b: str) -> bool:
        if a == b:
            return True
        parts_a, parts_b = RANDOM.split(a), RANDOM.split(b)
        if len(parts_a) != len(parts_b):
            return False
        for i, (x, y) in enumerate(zip(parts_a, parts_b, strict=True)):
            if x == y:
                continue
            if i % 2 == 0 or not (_random(x) and _random(y)):  # not a generated part
                return False
            if self.a_to_b.setdefault(x, y) != y or self.b_to_a.setdefault(y, x) != x:
                return False
        return True

    def compare(self, where: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a or key not in b:
                    self.found.append(f"{where}.{key}: only in {'a' if key in a else 'b'}")
                else:
                    self.compare(f"{where}.{key}", a[key], b[key])
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            if len(a) != len(b):
                self.found.append(f"{where}: {len(a)} items != {len(b)}: {a!r} != {b!r}")
                return
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                self.compare(f"{where}[{i}]", x, y)
        elif isinstance(a, str) and isinstance(b, str):
            if not self.strings(a, b):
                self.found.append(f"{where}: {a!r} != {b!r}")
        elif a != b or type(a) is not type(b):
            self.found.append(f"{where}: {a!r} != {b!r}")


def differences(a: list[tuple[str, Any]], b: list[tuple[str, Any]]) -> list[str]:
    """Every difference between two runs of the same corpus (named records, in order)."""
    comparer = Comparer()
    names_a, names_b = [n for n, _ in a], [n for n, _ in b]
    if names_a != names_b:
        return [f"the runs recorded different steps: {names_a} != {names_b}"]
    for (name, x), (_, y) in zip(a, b, strict=True):
        comparer.compare(name, x, y)
    return comparer.found


def audit_key(row: dict[str, Any]) -> str:
    """Audit rows are compared as a multiset: events written in a request's transaction and
    those of the batched writer land in either order. Sorted by what is not random."""
    return RANDOM.sub("*", json.dumps(row, sort_keys=True))
