"""HTTPS by default: TLS 1.2 at least (ECDHE with AES-GCM or ChaCha20 only), and, when no
certificate is given, a local CA made once in the home and a short-lived leaf signed by it.

Clients trust the CA (`tls/ca.pem`), once; the leaf (CA:FALSE, serverAuth, 397 days at most,
the CA/Browser Forum's cap) is renewed 30 days before it expires, at start and while serving.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# TLS 1.2 suites: forward secrecy and AEAD only (no CBC, no RSA key exchange); TLS 1.3's are
# all AEAD already
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
CA_LIFETIME = datetime.timedelta(days=3650)
LEAF_LIFETIME = datetime.timedelta(days=397)
RENEW_BEFORE = datetime.timedelta(days=30)
RENEW_CHECK_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    ca_file: Path
    fingerprint: str  # the CA's SHA-256, colon-separated hex, as browsers show it
    created: bool  # the leaf was made (or renewed) now


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


def renewing_context(folder: Path, host: str) -> ssl.SSLContext:
    """The context of the managed certificate, which a thread renews and reloads (new
    handshakes get the new leaf; the CA clients trust stays the same)."""
    made = ensure_certificate(folder, host)
    context = server_context(made.cert_file, made.key_file)

    def renew() -> None:
        while not stopped.wait(RENEW_CHECK_SECONDS):
            current = ensure_certificate(folder, host)  # another process may have renewed
            context.load_cert_chain(str(current.cert_file), str(current.key_file))

    stopped = threading.Event()
    threading.Thread(target=renew, name="tls-renewal", daemon=True).start()
    return context


def fingerprint(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def ensure_certificate(folder: Path, host: str,
                       now: datetime.datetime | None = None) -> Certificate:
    now = now or datetime.datetime.now(datetime.UTC)
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, ca_key_file = folder / "ca.pem", folder / "ca-key.pem"
    if not (ca_file.exists() and ca_key_file.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(ca_key_file, ca_key)
        _write(ca_file, _ca(ca_key, now).public_bytes(serialization.Encoding.PEM))
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    created = not _leaf_is_good(cert_file, key_file, ca, now)
    if created:
        signer = serialization.load_pem_private_key(ca_key_file.read_bytes(), None)
        assert isinstance(signer, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        _write_key(key_file, key)
        _write(cert_file, _leaf(key, ca, signer, host, now).public_bytes(
            serialization.Encoding.PEM))
    return Certificate(cert_file, key_file, ca_file, fingerprint(ca_file), created)


def _leaf_is_good(cert_file: Path, key_file: Path, ca: x509.Certificate,
                  now: datetime.datetime) -> bool:
    """Signed by this CA, a leaf, and more than RENEW_BEFORE from its end."""
    if not (cert_file.exists() and key_file.exists()):
        return False
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False  # a certificate of an earlier casegate (self-signed, CA:TRUE)
    return not is_ca and cert.not_valid_after_utc - now > RENEW_BEFORE


def _ca(key: ec.EllipticCurvePrivateKey, now: datetime.datetime) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casegate local CA")])
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
          ca_key: ec.EllipticCurvePrivateKey, host: str,
          now: datetime.datetime) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casegate")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LEAF_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    try:
        address = ipaddress.ip_address(host)
        if not address.is_unspecified and str(address) not in ("127.0.0.1", "::1"):
            names.append(x509.IPAddress(address))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    return names


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()), mode=0o600)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Whole or not at all: a process reading it meanwhile sees the old file or the new."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
