"""Secrets, keyed hashes and constant-time comparison."""

import base64
import hashlib
import hmac
import os
import secrets


def new_secret() -> str:
    """256 random bits, base64url: safe in a form, in Basic auth and in a file."""
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    """Twenty digits, as Pega's client IDs look (about 66 bits, unique by a constraint)."""
    return str(secrets.randbelow(9 * 10**19) + 10**19)


# an HMAC-SHA-256 keyed once per key, copied per hash: hmac.digest looks the digest up and
# keys it again on every call, twice the CPU of a copy (profiled: the token endpoint's
# client authentication hashes every presented secret)
_keyed: dict[bytes, hmac.HMAC] = {}


def keyed_hash(key: bytes, secret: str) -> str:
    # the secret has full entropy, so a fast keyed hash is as safe as a slow one here
    keyed = _keyed.get(key)
    if keyed is None:
        if len(_keyed) >= 8:  # a process holds one key; tests make many
            _keyed.clear()
        keyed = _keyed[key] = hmac.new(key, digestmod=hashlib.sha256)
    mac = keyed.copy()
    mac.update(secret.encode())
    return mac.hexdigest()


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def token_id() -> str:
    # secrets.token_urlsafe(16), without its SystemRandom object and method layers
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")


def digest(token: str) -> str:
    """How codes, refresh tokens and session cookies are stored: 256 random bits need no key."""
    return hashlib.sha256(token.encode()).hexdigest()


class Sealer:
    """AES-256-GCM under a key derived (HKDF-SHA-256) from the secret key: what casegate keeps
    in the database that must not be readable from a dump (the private signing keys).

    Derived rather than a second key file: every process already holds the secret key, and
    one secret to keep, share and back up is one fewer to lose; the HKDF label makes the
    encryption key independent of the HMAC key taken from the same secret.
    """

    PREFIX = "v1."
    LABEL = b"casegate signing-key encryption"

    def __init__(self, secret_key: bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.LABEL)
        self._aead = AESGCM(key.derive(secret_key))

    def seal(self, data: bytes, context: str) -> str:
        """`context` (a key ID) is bound to the ciphertext: a row copied onto another fails."""
        nonce = secrets.token_bytes(12)
        sealed = nonce + self._aead.encrypt(nonce, data, context.encode())
        return self.PREFIX + base64.urlsafe_b64encode(sealed).decode()

    def open(self, sealed: str, context: str) -> bytes:
        """The data, or SealError: the secret key is not the one it was sealed under."""
        from cryptography.exceptions import InvalidTag

        if not sealed.startswith(self.PREFIX):
            raise SealError("not sealed by casegate")
        raw = base64.urlsafe_b64decode(sealed[len(self.PREFIX):])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag:
            raise SealError("cannot decrypt: not the secret key it was encrypted under") from None


class SealError(ValueError):
    pass
