"""Time limits on what a client sends, and a cap on open connections, for uvicorn.

uvicorn only times out a keep-alive connection between requests: a client that connects and
sends nothing, or half a request line and headers, or half a body, holds its connection (and
a file descriptor) for ever, and a few hundred such clients use up a process. This protocol
adds a clock to each phase of reading a request:

- idle: from the connection (after the TLS handshake) or the end of a response until the
  first byte of the next request (in place of uvicorn's keep-alive timeout);
- header: from the first byte of a request until its headers are complete;
- body: from the end of the headers until the whole body has arrived.

A connection past its clock is closed. While the application works on a request nothing is
timed. Over `max_connections` open connections in the process, a new one is answered 503
and closed at once, before anything it sends is read.

It also writes each response's head together with the first part of its body (Coalesced):
uvicorn writes them apart, two sends (two TLS records) where one does, and that second
write was about a fifth of a token's CPU (profiled).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from casegate.web.balance import Balance

OVER_CAP = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain"
            b"\r\nContent-Length: 29\r\nConnection: close\r\n\r\ntoo many connections, retry\r\n")


# a body longer than this goes out in its own write: copying it onto the head costs more
JOIN_LIMIT = 64 * 1024


class Coalesced:
    """The transport as one response's cycle sees it. The cycle writes the status line and
    headers at http.response.start, then each body part; here the head is held and written
    with the first body part in one write. A response whose body writes nothing (HEAD) has
    its head written when it completes or the connection is closed. Writes
    before the head (100 Continue) and after the first body part go straight through, so
    a streamed response still goes out part by part."""

    __slots__ = ("transport", "cycle", "held", "headed", "on_response")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self.transport = transport
        self.cycle: RequestResponseCycle | None = cycle
        self.held: bytes | None = None
        self.headed = False
        self.on_response = cycle.on_response
        cycle.on_response = self.completed
        cycle.transport = self  # type: ignore[assignment]

    def write(self, data: bytes) -> None:
        held = self.held
        if held is not None:
            self.held = None
            if len(data) <= JOIN_LIMIT:
                self.transport.write(held + data)
                return
            self.transport.write(held)
        elif not self.headed and self.cycle and self.cycle.response_started:  # the head: the
            self.headed = True  # cycle writes it right after marking the response started
            self.held = data
            return
        self.transport.write(data)

    def flush(self) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            self.transport.write(held)

    def completed(self) -> None:
        self.flush()
        self.on_response()
        # the cycle and this refer to each other: undone here, both go when the response
        # does, not at the collector's next pass (about ten objects a request it walked)
        self.cycle = None

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()


@dataclass(frozen=True)
class Limits:
    header_timeout: float
    body_timeout: float
    idle_timeout: float
    max_connections: int


class GuardedProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits]
    # told this process's count of open connections as it changes (`serve --workers N`)
    balance: ClassVar[Balance | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # one timer per connection, re-armed lazily: a phase only moves the deadline; the
        # timer, when it fires early for the phase now running, is set again for its
        # deadline. A timer per phase (three per request) cost ~3 % of a token's CPU.
        self._clock: asyncio.TimerHandle | None = None
        self._clock_at = 0.0  # when _clock fires
        self._deadline = 0.0  # when the phase now running ends
        self._waiting = ""  # idle, header, body, or "" while the application has the request

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)  # counted no more: it is only being closed
            transport.write(OVER_CAP)
            transport.close()
            # TLS's close waits for the client's close_notify: one that never reads is cut off
            self.loop.call_later(1.0, transport.abort)
            return
        if self.balance is not None:
            self.balance.held(len(self.connections))
        self._wait("idle", self.limits.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)
        if self.balance is not None:
            self.balance.held(len(self.connections))

    def data_received(self, data: bytes) -> None:
        if self._waiting == "idle":  # any byte (a stray CRLF too) starts the header clock
            self._wait("header", self.limits.header_timeout)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._waiting in ("", "idle"):  # a pipelined request begins while one is answered
            self._wait("header", self.limits.header_timeout)

    def on_headers_complete(self) -> None:
        self._wait("body", self.limits.body_timeout)
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:  # a request (not an upgrade): its task has not run yet
            Coalesced(self.transport, self.cycle)

    def on_message_complete(self) -> None:
        self._waiting = ""  # the application has it: nothing timed (the timer finds so)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, but for its keep-alive clock: the idle clock instead. (uvicorn armed a
        # timer here that this then cancelled: a timer made and undone per request, ~3 % of a
        # token's CPU, profiled)
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif not self._waiting:  # (a client still sending a body keeps the body clock)
            self._wait("idle", self.limits.idle_timeout)

    def shutdown(self) -> None:
        # on SIGTERM, a connection between requests is cut at once: nothing is owed to it, and
        # over TLS uvicorn's close() would hold the shutdown until its idle clock ran out
        if self.cycle is None or self.cycle.response_complete:
            self._stop_clock()
            self.transport.abort()
        else:
            super().shutdown()

    def _wait(self, phase: str, seconds: float) -> None:
        self._waiting = phase
        self._deadline = deadline = self.loop.time() + seconds
        if self._clock is None or self._clock_at > deadline:
            if self._clock is not None:
                self._clock.cancel()
            self._arm(deadline)

    def _stop_clock(self) -> None:
        self._waiting = ""
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None

    def _arm(self, at: float) -> None:
        self._clock_at = at
        self._clock = self.loop.call_at(at, self._expired)

    def _expired(self) -> None:
        self._clock = None
        if not self._waiting:  # the application has the request; the next phase re-arms
            return
        if self.loop.time() < self._deadline - 0.001:  # a later phase: its own deadline
            self._arm(self._deadline)
            return
        # abort, not close: nothing is owed to this client, and over TLS close() would wait
        # (up to 30 s) for a close_notify from a client that is not reading
        self.transport.abort()


def protocol(limits: Limits, balance: Balance | None = None) -> type[GuardedProtocol]:
    """The protocol class uvicorn instantiates per connection, with these limits."""
    return type("CasegateProtocol", (GuardedProtocol,), {"limits": limits, "balance": balance})
