"""`casegate serve`: uvicorn processes reading requests through web/slow_clients.py (header,
body and idle timeouts, a connection cap).

With --workers N they share one listening socket and take turns by their count of open
connections (web/balance.py): `uvicorn --workers N` lets a burst of keep-alive connections
all land on one worker, and a socket per worker (SO_REUSEPORT) spreads them by a hash,
unevenly.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from casegate import logs, metrics
from casegate.errors import CasegateError
from casegate.settings import Settings
from casegate.web import slow_clients, tls
from casegate.web.balance import Acceptor, Balance


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CasegateError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
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


def run_process(settings: Settings, sock: socket.socket | None = None,
                balance: Balance | None = None) -> None:
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
    logs.configure(settings.log_format)
    limits = slow_clients.Limits(settings.header_timeout, settings.body_timeout,
                                 settings.idle_timeout, settings.max_connections)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            http=slow_clients.protocol(limits, balance), access_log=False,
                            log_config=None, server_header=False, proxy_headers=False,
                            **kwargs)
    server = Server(config, balance)
    if sock is None:
        sock = bind(settings.host, settings.port)
    server.run(sockets=[sock])


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, balance: Balance | None = None) -> None:
        super().__init__(config)
        self.balance = balance

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if self.balance is None or not sockets:
            await super().startup(sockets)
        else:  # uvicorn's start-up with no socket of its own, then the shared one's Acceptor
            await super().startup([])
            config, state = self.config, self.server_state
            self.servers.append(Acceptor(  # type: ignore[arg-type]
                sockets[0], lambda: config.http_protocol_class(  # type: ignore[call-arg]
                    config=config, server_state=state, app_state=self.lifespan.state),
                config.ssl, self.balance))
        # what start-up made (modules, the app, its caches: ~150,000 objects) lives as long as
        # the process: kept out of the collector's full passes, each of which walked all of
        # it (100 - 300 ms, measured) every few seconds under load, stalling every request
        # of the process: the token endpoint's p99
        gc.collect()
        gc.freeze()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn raises a stop signal again once it has shut down, so a single-process
        # `serve` died of its SIGTERM before its own clean-up (the counts folder in
        # /dev/shm stayed) and exited -15; it returns instead, and exits 0 as the
        # supervisor of several workers does
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def _worker(settings: Settings, sock: socket.socket, counts: Any, beats: Any,
            index: int) -> None:
    run_process(settings, sock, Balance(counts, beats, index))


def serve(settings: Settings, say: Callable[[str], None]) -> None:
    settings = prepare_tls(settings, say)
    # the port first: a busy one fails loudly before this server touches the counts of the
    # server holding it
    sock = claim_port(settings)
    # one folder per listening port: two servers sharing a home keep their counts apart
    own = metrics.multiprocess_dir(settings.home, settings.port)
    counts = metrics.prepare_multiprocess_dir(own)
    try:
        _serve(settings, sock, say)
    finally:
        metrics.release_multiprocess_dir(counts, own)


def claim_port(settings: Settings) -> socket.socket:
    """The listening socket, one process's or shared by all workers: a port in use fails
    here, before any worker starts (no SO_REUSEPORT: no other server's socket shares it)."""
    return bind(settings.host, settings.port)


def _serve(settings: Settings, sock: socket.socket, say: Callable[[str], None]) -> None:
    say(f"casegate serving {settings.listen_url} with {settings.workers} process(es)")
    if settings.base_url != settings.listen_url:  # e.g. another --port than at init
        say(f"casegate: tokens name the issuer {settings.base_url} (this database's)")
    if settings.workers == 1:
        run_process(settings, sock)
        return
    context = multiprocessing.get_context("spawn")
    # Balance's counts; the socket stays open here for workers started again
    connections = context.Array("i", [-1] * settings.workers, lock=False)
    beats = context.Array("d", [0.0] * settings.workers, lock=False)

    def start(index: int) -> BaseProcess:
        worker = context.Process(target=_worker, args=(settings, sock, connections, beats, index),
                                 daemon=False)
        worker.start()
        return worker

    def gone(index: int) -> None:  # the others take every new connection meanwhile
        connections[index] = -1

    workers = Supervisor(start, settings.workers, say, gone)
    signal.signal(signal.SIGTERM, workers.stop)
    signal.signal(signal.SIGINT, workers.stop)
    sys.exit(workers.run())


class Supervisor:
    """Keeps N workers running: one that dies (a crash, kill -9, out of memory) is started
    again, after 0.5 s doubling to 30 s while it keeps dying within a minute of its start."""

    FIRST_DELAY, MAX_DELAY, STABLE = 0.5, 30.0, 60.0

    def __init__(self, start: Callable[[int], BaseProcess], count: int,
                 say: Callable[[str], None], gone: Callable[[int], None] = lambda _: None
                 ) -> None:
        self._start = start
        self._say = say
        self._gone = gone
        now = time.monotonic()
        self.workers = [start(index) for index in range(count)]
        self._born = [now] * count
        self._delay = [self.FIRST_DELAY / 2] * count
        self._due: list[float | None] = [None] * count
        self._stopping = False

    def stop(self, *_: object) -> None:
        self._stopping = True
        for worker in self.workers:
            if worker.is_alive():
                worker.terminate()

    def run(self) -> int:
        """Supervise until stopped; the exit code of the whole server."""
        while not self._stopping:
            for index in range(len(self.workers)):
                self._tend(index, time.monotonic())
            time.sleep(0.2)
        for worker in self.workers:  # one started as the signal came is stopped too
            if worker.is_alive():
                worker.terminate()
            worker.join()
        return 0 if all(w.exitcode in (0, -signal.SIGTERM) for w in self.workers) else 1

    def _tend(self, index: int, now: float) -> None:
        worker = self.workers[index]
        if worker.is_alive() or self._stopping:
            return
        due = self._due[index]
        if due is None:
            lived = now - self._born[index]
            delay = self.FIRST_DELAY if lived > self.STABLE else min(
                self._delay[index] * 2, self.MAX_DELAY)
            self._delay[index] = delay
            self._due[index] = now + delay
            assert worker.pid is not None
            metrics.process_dead(worker.pid)
            self._gone(index)
            self._say(f"casegate: worker {worker.pid} exited ({worker.exitcode}); "
                      f"starting another in {delay:g} s")
        elif now >= due:
            self.workers[index] = self._start(index)
            self._born[index], self._due[index] = now, None
