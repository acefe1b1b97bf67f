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


def _unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_with_cryptography(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The claims of a compact ES256 or RS256 JWS, its signature checked against the JWKS
    with `cryptography` alone (RFC 7515, RFC 7518 §3.3-3.4): a verifier that shares no code
    with casegate's signer or with joserfc. Raises InvalidSignature on a bad signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    header_part, payload_part, signature_part = token.split(".")
    header = unb64url_json(header_part)
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    signed = f"{header_part}.{payload_part}".encode()
    signature = _unb64url(signature_part)
    number = lambda name: int.from_bytes(_unb64url(jwk[name]), "big")  # noqa: E731
    if header["alg"] == "ES256":
        assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and len(signature) == 64
        public = ec.EllipticCurvePublicNumbers(number("x"), number("y"), ec.SECP256R1())
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:], "big"))
        public.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))
    else:
        assert header["alg"] == "RS256" and jwk["kty"] == "RSA"
        rsa.RSAPublicNumbers(number("e"), number("n")).public_key().verify(
            signature, signed, padding.PKCS1v15(), hashes.SHA256())
    return unb64url_json(payload_part)
