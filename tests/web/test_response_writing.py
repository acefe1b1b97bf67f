"""Responses as they reach a client over raw sockets, plain and TLS, now that casegate's
protocol (web/slow_clients.py) writes each response's head with the first part of its body.

Two servers: uvicorn with casegate's protocol and a small ASGI application that streams,
answers HEAD and 204, closes, and reads a body behind `Expect: 100-continue`; and a served
casegate, whose token endpoint answers pipelined requests on one kept-alive connection.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from casegate.web import slow_clients, tls
from fixtures.served import Served, free_port

TOKEN = "/prweb/PRRestService/oauth2/v1/token"
LIMITS = slow_clients.Limits(header_timeout=10, body_timeout=10, idle_timeout=10,
                             max_connections=100)


class Reader:
    """HTTP/1.1 responses read one after another from one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buffer += data

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._more()
        found, self.buffer = self.buffer.split(marker, 1)
        return found + marker

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def head(self) -> tuple[int, dict[str, str]]:
        lines = self.until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), lines[0]
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                assert name.lower() not in headers, f"{name} twice"
                headers[name.lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def response(self, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head()
        if method == "HEAD" or status in (204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self.until(b"\r\n")[:-2], 16)
                body += self.exactly(size)
                assert self.exactly(2) == b"\r\n"
                if size == 0:
                    return status, headers, body
        return status, headers, self.exactly(int(headers["content-length"]))

    def closed(self, limit: float = 5.0) -> bool:
        """Whether the server closes the connection (with nothing more sent) within `limit`."""
        self.sock.settimeout(limit)
        try:
            return self.sock.recv(1) == b"" and not self.buffer
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return not self.buffer
        except TimeoutError:
            return False


# ------------------------------------------------------------------ a small application
class Streaming:
    """/fixed, HEAD /fixed, /empty (204), /close (Connection: close), /echo (reads the body),
    /stream (one part, then the next only once the client has seen the first)."""

    def __init__(self) -> None:
        self.first_seen = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"first part", "more_body": True})
            while not self.first_seen.is_set():  # held until the client has read it
                await asyncio.sleep(0.01)
            await send({"type": "http.response.body", "body": b"second part",
                        "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, headers, content = 200, [], b"hello"
        if path == "/empty":
            status, content = 204, b""
        elif path == "/close":
            headers = [(b"connection", b"close")]
        elif path == "/echo":
            content = b"got " + body
        elif path == "/big":
            content = b"x" * (slow_clients.JOIN_LIMIT + 10)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-length", str(len(content)).encode()), *headers]})
        await send({"type": "http.response.body", "body": content})


@pytest.fixture(scope="module", params=["https", "http"])
def small(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Any, Streaming]]:
    app = Streaming()
    port = free_port()
    kwargs: dict[str, Any] = {}
    client: ssl.SSLContext | None = None
    if request.param == "https":
        made = tls.ensure_certificate(tmp_path_factory.mktemp("tls"), "127.0.0.1")
        kwargs["ssl_certfile"] = str(made.cert_file)
        kwargs["ssl_context_factory"] = lambda _c, _d: tls.server_context(made.cert_file,
                                                                          made.key_file)
        client = ssl.create_default_context(cafile=str(made.ca_file))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            server_header=False, date_header=False, http=slow_clients.protocol(LIMITS), **kwargs)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port, client, app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def open_to(port: int, context: ssl.SSLContext | None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(sock, server_hostname="127.0.0.1") if context else sock


def test_pipelined_requests_each_get_their_whole_response_in_order(small: Any) -> None:
    port, context, _ = small
    with open_to(port, context) as sock:
        sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"HEAD /fixed HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                     b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n")
        reader = Reader(sock)
        assert reader.response() == (200, {"content-length": "5"}, b"hello")
        # HEAD: the head alone (its Content-Length is the GET's), and nothing after it
        assert reader.response("HEAD") == (200, {"content-length": "5"}, b"")
        assert reader.response() == (204, {"content-length": "0"}, b"")
        assert reader.response()[2] == b"got abc"
        assert reader.response()[2] == b"x" * (slow_clients.JOIN_LIMIT + 10)
        assert reader.response() == (200, {"content-length": "5"}, b"hello")
        # still kept alive: one more request on the same connection
        sock.sendall(b"HEAD /fixed HTTP/1.1\r\nHost: x\r\n\r\nGET /fixed HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reader.response("HEAD")[0] == 200
        assert reader.response() == (200, {"content-length": "5"}, b"hello")


def test_a_streamed_response_goes_out_part_by_part(small: Any) -> None:
    port, context, app = small
    app.first_seen.clear()
    with open_to(port, context) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        reader = Reader(sock)
        status, headers = reader.head()
        assert (status, headers["transfer-encoding"]) == (200, "chunked")
        # the first part arrives while the application still holds back the second
        assert reader.until(b"first part\r\n").endswith(b"first part\r\n")
        app.first_seen.set()
        assert reader.until(b"0\r\n\r\n") == b"b\r\nsecond part\r\n0\r\n\r\n"
        sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive after it
        assert reader.response()[2] == b"hello"


def test_connection_close_is_answered_then_closed(small: Any) -> None:
    port, context, _ = small
    with open_to(port, context) as sock:
        sock.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        reader = Reader(sock)
        assert reader.response() == (200, {"content-length": "5", "connection": "close"},
                                     b"hello")
        assert reader.closed()
    with open_to(port, context) as sock:  # HEAD, closed by the client's own Connection: close
        sock.sendall(b"HEAD /fixed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reader = Reader(sock)
        assert reader.response("HEAD") == (200, {"content-length": "5", "connection": "close"},
                                           b"")
        assert reader.closed()


def test_100_continue_comes_before_the_response(small: Any) -> None:
    port, context, _ = small
    with open_to(port, context) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        reader = Reader(sock)
        assert reader.head() == (100, {})
        sock.sendall(b"body")
        assert reader.response() == (200, {"content-length": "8"}, b"got body")


# ------------------------------------------------------------------ casegate itself
@pytest.fixture(scope="module", params=["https", "http"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    plain = ("--http",) if request.param == "http" else ()
    server = Served(tmp_path_factory.mktemp(request.param), "", extra=plain).start()
    try:
        yield server
    finally:
        server.stop()


def test_pipelined_token_requests_on_one_kept_alive_connection(served: Served) -> None:
    client_id, secret = served.demo["client_id"], served.demo["client_secret"]
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    token = (f"POST {TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             f"application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n{form}")
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    if served.url.startswith("https"):
        sock = served.tls().wrap_socket(sock, server_hostname="127.0.0.1")
    with sock:
        sock.sendall((token + token + "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                      + token).encode())
        reader = Reader(sock)
        tokens = []
        for method in ("POST", "POST", "HEAD", "POST"):
            status, headers, body = reader.response(method)
            if method == "HEAD":  # the head alone: the next response follows it at once
                assert (status, int(headers["content-length"]) > 0) == (200, True)
                continue
            assert status == 200, body
            assert headers["cache-control"] == "no-store"
            assert len(body) == int(headers["content-length"])
            tokens.append(json.loads(body)["access_token"])
        assert len(set(tokens)) == 3
        sock.sendall(token.encode())  # the connection is still kept alive
        assert reader.response("POST")[0] == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        status, headers, _ = reader.response()
        assert (status, headers["connection"]) == (200, "close")
        assert reader.closed()


def test_a_response_leaves_no_cyclic_garbage(small: Any) -> None:
    # the protocol's writer and uvicorn's request cycle refer to each other until the response
    # is done: then they go at once, not at the collector's next pass (which, under load,
    # walked about ten such objects a request)
    port, context, _ = small
    with open_to(port, context) as sock:
        reader = Reader(sock)
        sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reader.response()[2] == b"hello"
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a pass finds unreachable is kept to look at
        try:
            for _ in range(50):
                sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n")
                assert reader.response()[2] == b"hello"
            gc.collect()
            kinds = [type(found).__name__ for found in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    # (other tests' threads in this process may leave garbage of their own meanwhile)
    left = [kind for kind in kinds if kind in ("RequestResponseCycle", "Coalesced")]
    assert left == [], f"{len(left)} request cycles and writers left to the collector"
