"""Secrets, keyed hashes and constant-time comparison."""

import hashlib
import hmac
import secrets


def new_secret() -> str:
    """256 random bits, base64url: safe in a form, in Basic auth and in a file."""
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    """Twenty digits, as Pega's client IDs look (about 66 bits, unique by a constraint)."""
    return str(secrets.randbelow(9 * 10**19) + 10**19)


def keyed_hash(key: bytes, secret: str) -> str:
    # the secret has full entropy, so a fast keyed hash is as safe as a slow one here
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def token_id() -> str:
    return secrets.token_urlsafe(16)


def digest(token: str) -> str:
    """How codes, refresh tokens and session cookies are stored: 256 random bits need no key."""
    return hashlib.sha256(token.encode()).hexdigest()
