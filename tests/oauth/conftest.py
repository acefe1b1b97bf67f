"""Fixtures for the OAuth tests: the server's own signing key, and tokens forged with it.

Forging with the server's private key (read from the signing_keys table) is how a test
makes a token that is correctly signed yet wrong in one claim: expired, another audience,
another issuer, another `typ`. A control test shows that a forged token with every claim
right is accepted, so each refusal is about the one claim changed.
"""

import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.orm import Session, sessionmaker

from casegate.oauth.keys import KeyRing
from casegate.settings import Settings
from oauth.jwt_parts import AUDIENCE, ISSUER, b64url, b64url_json

Forge = Callable[..., str]


@pytest.fixture
def server_key(db: sessionmaker[Session], settings: Settings) -> ECKey | RSAKey:
    """The private key casegate signs access tokens with right now (decrypted with the
    secret key, as the server does)."""
    return KeyRing(db, settings).current()


@pytest.fixture
def valid_claims(demo: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Claims of a token casegate would issue to the demo client now (RFC 9068 §2.2)."""

    def make() -> dict[str, Any]:
        now = int(time.time())
        return {"iss": ISSUER, "sub": demo["operator"], "aud": AUDIENCE,
                "client_id": demo["client_id"], "iat": now, "exp": now + 300,
                "jti": secrets.token_urlsafe(16), "scope": "cases casetypes"}

    return make


@pytest.fixture
def forge(server_key: ECKey | RSAKey, valid_claims: Callable[[], dict[str, Any]]) -> Forge:
    """forge(key=None, header={...}, **claims): a JWT signed by `key` (the server's by default).

    Claims given as None are left out; header entries given as None are left out.
    """

    def make(key: ECKey | RSAKey | None = None, header: dict[str, Any] | None = None,
             **claims: Any) -> str:
        signer = key or server_key
        full_header = {"alg": server_key.alg, "typ": "at+jwt", "kid": server_key.kid}
        full_header |= header or {}
        full_claims = valid_claims() | claims
        return jwt.encode({k: v for k, v in full_header.items() if v is not None},
                          {k: v for k, v in full_claims.items() if v is not None},
                          signer, default_type=None)

    return make


@pytest.fixture
def sign_raw(server_key: ECKey | RSAKey) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    """An ES256 JWS over exactly this header and these claims, signed by hand (no JOSE library
    in between that would refuse an odd header, such as an unknown `crit` extension)."""

    def make(header: dict[str, Any], claims: dict[str, Any]) -> str:
        assert isinstance(server_key, ECKey)
        signing_input = f"{b64url_json(header)}.{b64url_json(claims)}".encode()
        der = server_key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input.decode()}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    return make
