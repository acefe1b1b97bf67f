"""`serve --workers N`: one listening socket for all workers, each taking new connections only
while it holds no more than any other worker does.

With a socket per worker (SO_REUSEPORT) the kernel picks the worker by a hash of each
connection's addresses: 32 kept-alive connections landed 22 and 10, or 19 and 13, as often
as not (measured), and the requests of the fuller worker waited twice as long: the token
endpoint's p99 was a draw. Here every worker watches the one socket, and one that holds more
connections than another running worker leaves the next ones to it and looks again every
PAUSE seconds. The counts live in memory the workers share (`serve` makes it); a worker not
running has -1 in its slot, so nobody waits for it, and one that is running but has not
looked at its socket for STALE seconds (stopped, or its event loop stuck) is not waited for
either: its count would otherwise cap how many connections all the others take.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Callable, MutableSequence
from typing import Any

log = logging.getLogger("casegate.serve")

# accept() errors that concern one connection (the client gave up before it was taken)
GONE = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM}


class Balance:
    """This worker's slot among all workers' counts of connections: those its protocol holds
    (`held`, told by web/slow_clients.py) and those accepted but not yet handed over (their
    TLS handshake under way)."""

    STALE = 1.0  # seconds without a beat: a worker whose count no longer means anything

    def __init__(self, counts: MutableSequence[int], beats: MutableSequence[float],
                 index: int) -> None:
        self.counts, self.beats, self.index = counts, beats, index
        self.open = self.arriving = 0
        self.beat()

    def beat(self) -> None:
        """This worker's event loop is turning (CLOCK_MONOTONIC: one clock for all
        processes)."""
        self.beats[self.index] = time.monotonic()

    def held(self, connections: int) -> None:
        self.open = connections
        self.counts[self.index] = self.open + self.arriving

    def arrived(self, change: int) -> None:
        self.arriving += change
        self.counts[self.index] = self.open + self.arriving

    def handed_over(self, connections: int) -> None:
        """An accepted connection is the protocol's now: counted once, at once (apart, a
        burst's connections were counted twice in between, and the other worker, reading
        that, took more than its share: 13 and 19 of 32, measured)."""
        self.arriving -= 1
        self.held(connections)

    def leave(self) -> None:
        """New connections are the others' now."""
        self.counts[self.index] = -1

    def may_accept(self) -> bool:
        """Whether this worker holds no more connections than each other running worker."""
        mine = self.counts[self.index]
        stale = time.monotonic() - self.STALE
        return all(other < 0 or mine <= other or self.beats[i] < stale
                   for i, other in enumerate(self.counts) if i != self.index)


class Acceptor:
    """uvicorn's server for one shared socket (close and wait_closed as asyncio's Server),
    accepting only while Balance allows; each connection then goes to `factory`'s protocol
    as uvicorn's own server would hand it (TLS handshake included)."""

    PAUSE = 0.005  # seconds between looks while another worker holds fewer connections
    BEAT = 0.1  # seconds between beats (Balance.STALE is ten of them)
    FULL_PAUSE = 1.0  # after running out of file descriptors (as asyncio's own servers do)

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
                 context: ssl.SSLContext | None, balance: Balance) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock, self._factory, self._ssl = sock, factory, context
        self._balance = balance
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        sock.setblocking(False)
        balance.held(0)
        self._loop.add_reader(sock.fileno(), self._ready)
        self._beat()

    def _beat(self) -> None:
        self._balance.beat()
        self._beating = self._loop.call_later(self.BEAT, self._beat)

    def _ready(self) -> None:
        while True:
            if not self._balance.may_accept():
                self._pause(self.PAUSE)
                return
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in GONE:
                    continue
                log.warning("cannot accept connections for now: %s", exc.strerror)
                self._pause(self.FULL_PAUSE)
                return
            conn.setblocking(False)
            self._balance.arrived(1)
            task = self._loop.create_task(self._connect(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket) -> None:
        made: list[asyncio.Protocol] = []

        def factory() -> asyncio.Protocol:
            made.append(self._factory())
            return made[0]

        try:
            await self._loop.connect_accepted_socket(factory, conn, ssl=self._ssl)
        except OSError:  # a failed or timed-out TLS handshake (TimeoutError is one)
            conn.close()
        finally:  # unless its protocol took it over (Balance.handed_over), it is gone
            if not (made and getattr(made[0], "handed_over", False)):
                self._balance.arrived(-1)

    def _pause(self, seconds: float) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._timer = self._loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        self._timer = None
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._ready)
            self._ready()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._beating.cancel()
        if self._timer is not None:
            self._timer.cancel()
        else:
            self._loop.remove_reader(self._sock.fileno())
        self._balance.leave()

    async def wait_closed(self) -> None:
        for task in list(self._tasks):  # handshakes under way end as the connections do
            task.cancel()
