"""`casegate serve`: uvicorn processes, each on its own SO_REUSEPORT socket.

`uvicorn --workers N` shares one listening socket, and a burst of keep-alive connections
may all land on one worker; one socket per process lets the kernel spread connections.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from casegate.errors import CasegateError
from casegate.settings import Settings
from casegate.web import tls


def bind(host: str, port: int, reuse_port: bool, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CasegateError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    if listen:
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def prepare_tls(settings: Settings, say: Callable[[str], None]) -> Settings:
    """Fill in the certificate: the configured one, or a leaf of the home's local CA."""
    if settings.http:
        say("WARNING: serving plain HTTP. Tokens and secrets cross the network unencrypted. "
            "Use this only behind a TLS-terminating proxy on the same host.")
        return settings
    if settings.cert_file and settings.key_file:
        try:  # load them here, so a bad file is a message and not a traceback in each worker
            tls.server_context(settings.cert_file, settings.key_file)
        except OSError as exc:  # ssl.SSLError is one
            raise SystemExit(f"casegate: cannot use --cert {settings.cert_file} with --key "
                             f"{settings.key_file}: {exc.strerror or exc}") from None
        return settings
    if settings.cert_file or settings.key_file:
        raise SystemExit("casegate: --cert and --key go together")
    cert = tls.ensure_certificate(settings.home / "tls", settings.host)
    say(f"trust the local CA {cert.ca_file.resolve()} (clients: --cacert {cert.ca_file})")
    say(f"  SHA-256 fingerprint {cert.fingerprint}")
    say(f"{'made' if cert.created else 'using'} certificate {cert.cert_file} signed by it, "
        f"renewed {tls.RENEW_BEFORE.days} days before it expires")
    return settings.model_copy(update={"cert_file": cert.cert_file, "key_file": cert.key_file})


def run_process(settings: Settings, sock: socket.socket | None = None) -> None:
    from casegate.app import create_app

    kwargs: dict[str, Any] = {}
    if not settings.http:
        assert settings.cert_file and settings.key_file
        cert, key = settings.cert_file, settings.key_file
        kwargs["ssl_certfile"] = str(cert)
        folder, host = settings.home / "tls", settings.host
        if cert == folder / "cert.pem":  # the home's CA: this process renews its leaf in time
            kwargs["ssl_context_factory"] = lambda _c, _d: tls.renewing_context(folder, host)
        else:
            kwargs["ssl_context_factory"] = lambda _c, _d: tls.server_context(cert, key)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            access_log=False, log_level="warning", server_header=False,
                            proxy_headers=False, timeout_keep_alive=30, **kwargs)
    server = uvicorn.Server(config)
    if sock is None:
        sock = bind(settings.host, settings.port, reuse_port=False)
    server.run(sockets=[sock])


def _worker(settings: Settings) -> None:
    run_process(settings, bind(settings.host, settings.port, reuse_port=True))


def serve(settings: Settings, say: Callable[[str], None]) -> None:
    settings = prepare_tls(settings, say)
    say(f"casegate serving {settings.base_url} with {settings.workers} process(es)")
    if settings.workers == 1:
        run_process(settings)
        return
    # bind (without listening) first, so a busy port fails loudly before any worker starts
    probe = bind(settings.host, settings.port, reuse_port=True, listen=False)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(settings,), daemon=False)
               for _ in range(settings.workers)]
    for worker in workers:
        worker.start()
    probe.close()

    def stop(*_: object) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    sys.exit(0 if all(w.exitcode in (0, -signal.SIGTERM) for w in workers) else 1)
