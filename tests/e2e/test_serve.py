"""`casegate serve` as a user runs it: HTTPS with a local CA and a leaf signed by it made on
the first start, `--http` loudly marked insecure, `--cert`/`--key` served as given, and a clear message
(never a traceback) when it cannot start.

The TLS tests run on SQLite only: the database plays no part in how the socket is served.
"""

import hashlib
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from casegate.web import tls
from fixtures.served import Served, cli, cli_in_process

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
FINGERPRINT = re.compile(r"SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\b")
TRUST = re.compile(r"trust the local CA (\S+)")


def initialised(tmp_path: Path, database_url: str) -> Served:
    """A home with `casegate init` done, nothing served yet."""
    served = Served(tmp_path / "home", database_url)
    served.home.mkdir(parents=True)
    cli_in_process(served.env, "init")
    return served


@contextmanager
def serving(served: Served, *args: str, probe: Callable[[], object]) -> Iterator[str]:
    """`casegate serve ARGS` until `probe` stops raising; yields what serve printed so far."""
    with served.log.open("w") as log:
        served.process = subprocess.Popen(
            [sys.executable, "-m", "casegate", "serve", *args], env=served.env, stdout=log,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                if served.process.poll() is not None:
                    raise AssertionError(f"casegate serve exited: {served.log.read_text()}")
                try:
                    probe()
                    break
                except (httpx.HTTPError, OSError):
                    if time.monotonic() > deadline:
                        raise AssertionError(f"not serving: {served.log.read_text()}") from None
                    time.sleep(0.05)
            yield served.log.read_text()
        finally:
            served.stop()


def https_probe(served: Served, context: ssl.SSLContext) -> Callable[[], object]:
    return lambda: httpx.get(served.url + "/healthz", verify=context, timeout=2)


def trust_only(cafile: Path) -> ssl.SSLContext:
    """A client that trusts this one certificate authority and nothing else (no system CAs)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname check and CERT_REQUIRED on
    context.load_verify_locations(cafile=str(cafile))
    return context


def peer_certificate(url: str, context: ssl.SSLContext) -> bytes:
    with httpx.Client(verify=context, timeout=10) as web:
        response = web.get(url + "/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        tls = response.extensions["network_stream"].get_extra_info("ssl_object")
        der = tls.getpeercert(True)  # the DER bytes
    assert isinstance(der, bytes)
    return der


def sha256_of_der(pem_file: Path) -> str:
    der = x509.load_pem_x509_certificate(pem_file.read_bytes()).public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def no_traceback(output: str) -> None:
    assert "Traceback" not in output and 'File "' not in output and "Error:" not in output, \
        output


# -- the local CA and its leaf -----------------------------------------------------------------


@SQLITE_ONLY
def test_first_start_makes_a_local_ca_and_a_leaf_signed_by_it(
        tmp_path: Path, database_url: str) -> None:
    served = initialised(tmp_path, database_url)
    ca_file, cert_file = served.home / "tls" / "ca.pem", served.home / "tls" / "cert.pem"

    def waiting() -> object:  # the CA exists only once serve has made it
        return httpx.get(served.url + "/healthz", verify=trust_only(ca_file), timeout=2)

    with serving(served, probe=waiting) as printed:
        shown = TRUST.search(printed)
        assert shown is not None, printed
        assert Path(shown.group(1)) == ca_file.resolve()
        # the printed fingerprint is the SHA-256 of the CA's DER (what a browser shows)
        fingerprint = FINGERPRINT.search(printed).group(1)  # type: ignore[union-attr]
        assert fingerprint.replace(":", "").lower() == sha256_of_der(ca_file)
        # the leaf is what is served, and a client trusting only the CA accepts it
        served_der = peer_certificate(served.url, trust_only(ca_file))
        assert hashlib.sha256(served_der).hexdigest() == sha256_of_der(cert_file)
        check_leaf(x509.load_der_x509_certificate(served_der),
                   x509.load_pem_x509_certificate(ca_file.read_bytes()))
        made = ca_file.read_bytes(), cert_file.read_bytes()

    # made once: a restart serves the same CA and leaf
    with serving(served, probe=waiting) as printed_again:
        assert FINGERPRINT.search(printed_again).group(1) == fingerprint  # type: ignore[union-attr]
        assert (ca_file.read_bytes(), cert_file.read_bytes()) == made


def check_leaf(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    leaf.verify_directly_issued_by(ca)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=397, minutes=5)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


@SQLITE_ONLY
def test_tls_1_2_offers_no_cbc_suites(tmp_path: Path, database_url: str) -> None:
    served = initialised(tmp_path, database_url)
    ca_file = served.home / "tls" / "ca.pem"

    def tls12(ciphers: str) -> ssl.SSLContext:
        context = trust_only(ca_file)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers)
        return context

    def waiting() -> object:  # the CA exists only once serve has made it
        return httpx.get(served.url + "/healthz", verify=trust_only(ca_file), timeout=2)

    with serving(served, probe=waiting):
        for aead in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                     "ECDHE-ECDSA-CHACHA20-POLY1305"):
            assert httpx.get(served.url + "/healthz", verify=tls12(aead)).status_code == 200
        for cbc in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384"):
            with pytest.raises(httpx.ConnectError):
                httpx.get(served.url + "/healthz", verify=tls12(cbc), timeout=5)


def test_the_leaf_is_renewed_before_it_expires_and_the_ca_kept(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    first = tls.ensure_certificate(folder, "127.0.0.1")
    assert first.created
    ca, leaf = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    now = datetime.now(UTC)
    assert not tls.ensure_certificate(folder, "127.0.0.1", now + timedelta(days=360)).created
    renewed = tls.ensure_certificate(folder, "127.0.0.1", now + timedelta(days=370))
    assert renewed.created and renewed.cert_file.read_bytes() != leaf
    assert renewed.ca_file.read_bytes() == ca  # clients keep trusting what they trust
    check_leaf(x509.load_pem_x509_certificate(renewed.cert_file.read_bytes()),
               x509.load_pem_x509_certificate(ca))


def test_an_earlier_self_signed_certificate_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    folder.mkdir()
    authority = trustme.CA()  # a CA:TRUE certificate where the leaf belongs, as before
    authority.cert_pem.write_to_path(str(folder / "cert.pem"))
    authority.private_key_pem.write_to_path(str(folder / "key.pem"))
    made = tls.ensure_certificate(folder, "127.0.0.1")
    assert made.created
    check_leaf(x509.load_pem_x509_certificate(made.cert_file.read_bytes()),
               x509.load_pem_x509_certificate(made.ca_file.read_bytes()))


# -- plain HTTP ---------------------------------------------------------------------------------


@SQLITE_ONLY
def test_http_serves_plain_http_with_a_loud_warning(tmp_path: Path, database_url: str) -> None:
    served = initialised(tmp_path, database_url)
    plain = f"http://127.0.0.1:{served.port}"
    with serving(served, "--http", probe=lambda: httpx.get(plain + "/healthz", timeout=2)) \
            as printed:
        answer = httpx.get(plain + "/healthz", timeout=5)
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
        # the server does not speak TLS at all
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{served.port}/healthz", verify=False, timeout=5)
        warning = [line for line in printed.splitlines() if "WARNING" in line]
        assert warning, printed
        assert "plain HTTP" in warning[0]
        # RFC 6797 §7.2: no Strict-Transport-Security over plain HTTP
        assert "strict-transport-security" not in answer.headers
    assert not (served.home / "tls" / "cert.pem").exists()


# -- a certificate of one's own -------------------------------------------------------------------


@SQLITE_ONLY
def test_cert_and_key_serve_that_certificate(tmp_path: Path, database_url: str) -> None:
    served = initialised(tmp_path, database_url)
    authority = trustme.CA()
    leaf = authority.issue_cert("127.0.0.1", "localhost")
    cert, key, ca = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))

    with serving(served, "--cert", str(cert), "--key", str(key),
                 probe=https_probe(served, trust_only(ca))) as printed:
        served_der = peer_certificate(served.url, trust_only(ca))
        assert served_der == x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(
            Encoding.DER)
        assert "local CA" not in printed
        # a client that trusts only another authority refuses this server
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(served.url + "/healthz", verify=trust_only(other), timeout=5)
    assert not (served.home / "tls" / "cert.pem").exists()


# -- when it cannot start ------------------------------------------------------------------------


def test_serve_before_init_says_to_run_init(tmp_path: Path, database_url: str) -> None:
    served = Served(tmp_path / "home", database_url)  # a fresh home and database, no init
    result = cli(served.env, "serve", check=False)
    assert result.returncode != 0
    assert "casegate init" in result.stderr + result.stdout
    no_traceback(result.stderr + result.stdout)


@SQLITE_ONLY
@pytest.mark.parametrize("args", [
    ("--cert", "{tmp}/server.pem"),  # a certificate without its key
    ("--cert", "{tmp}/missing.pem", "--key", "{tmp}/missing.key"),
    ("--cert", "{tmp}/server.pem", "--key", "{tmp}/other.key"),  # a key of another certificate
], ids=["cert-without-key", "missing-files", "mismatched-key"])
def test_unusable_certificate_options_fail_with_a_message(
        tmp_path: Path, database_url: str, args: tuple[str, ...]) -> None:
    served = initialised(tmp_path, database_url)
    authority = trustme.CA()
    authority.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(
        str(tmp_path / "server.pem"))
    authority.issue_cert("127.0.0.1").private_key_pem.write_to_path(str(tmp_path / "other.key"))
    argv = [arg.format(tmp=tmp_path) for arg in args]
    result = subprocess.run([sys.executable, "-m", "casegate", "serve", *argv], env=served.env,
                            text=True, capture_output=True, timeout=30)
    output = result.stderr + result.stdout
    assert result.returncode != 0, output
    assert "casegate:" in output and ("--cert" in output or "certificate" in output), output
    no_traceback(output)
