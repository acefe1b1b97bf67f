"""Reading and writing JWT parts by hand, as jwt.io or an attacker would (no casegate code)."""

import base64
import json
from typing import Any

ISSUER = "https://127.0.0.1:8443"
# the audience casegate's API checks: the Pega API under the issuer
AUDIENCE = ISSUER + "/prweb/api"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64url_json(part: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def header_of(token: str) -> dict[str, Any]:
    return unb64url_json(token.split(".")[0])


def claims_of(token: str) -> dict[str, Any]:
    return unb64url_json(token.split(".")[1])
