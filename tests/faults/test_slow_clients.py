"""Slow and silent clients against a served casegate, over real TLS and plain HTTP: each is
closed within its timeout, and the server keeps answering everyone else.

The server runs with short limits given on the command line (`--header-timeout 1` ...), so
each test waits a second or two; MARGIN covers a loaded machine.
"""

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fixtures.served import Served

TIMEOUT = 1.0  # each of --header-timeout, --body-timeout, --idle-timeout
MARGIN = 4.0
LIMITS = ("--header-timeout", "1", "--body-timeout", "1", "--idle-timeout", "1")
TOKEN = "/prweb/PRRestService/oauth2/v1/token"


@pytest.fixture(scope="module", params=["https", "http"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    plain = ("--http",) if request.param == "http" else ()
    server = Served(tmp_path_factory.mktemp(request.param), "", extra=(*LIMITS, *plain)).start()
    try:
        yield server
    finally:
        server.stop()


def connect(served: Served) -> socket.socket:
    """A raw connection; over HTTPS, with the TLS handshake done and nothing sent after it."""
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    if served.url.startswith("https"):
        return served.tls().wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


def seconds_until_closed(sock: socket.socket, limit: float = TIMEOUT + MARGIN) -> float:
    """How long until the server closes the connection; fails past `limit`."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        pass
    except TimeoutError:
        pytest.fail(f"still open after {limit} s")
    finally:
        sock.close()
    return time.monotonic() - started


def answers(served: Served) -> int:
    verify: ssl.SSLContext | bool = served.tls() if served.url.startswith("https") else False
    return httpx.get(served.url + "/healthz", verify=verify, timeout=10).status_code


def test_silent_connection_is_closed(served: Served) -> None:
    sock = connect(served)
    assert seconds_until_closed(sock) >= TIMEOUT * 0.9
    assert answers(served) == 200


def test_half_a_header_is_closed_even_if_it_trickles(served: Served) -> None:
    sock = connect(served)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    # a byte every 0.3 s: each byte is in time, the headers as a whole are not
    with pytest.raises(OSError):
        while time.monotonic() - started < TIMEOUT + MARGIN:
            sock.sendall(b"X")
            time.sleep(0.3)
    assert time.monotonic() - started < TIMEOUT + MARGIN
    sock.close()
    assert answers(served) == 200


def test_half_a_body_is_closed(served: Served) -> None:
    sock = connect(served)
    sock.sendall(b"POST " + TOKEN.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 100\r\n\r\ngrant_type=")
    assert seconds_until_closed(sock) < TIMEOUT + MARGIN
    assert answers(served) == 200


def test_idle_keep_alive_connection_is_closed_after_its_answer(served: Served) -> None:
    sock = connect(served)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    sock.settimeout(10)
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    assert seconds_until_closed(sock) >= TIMEOUT * 0.9


def test_pipelined_requests_are_all_answered_then_the_idle_clock_runs(served: Served) -> None:
    sock = connect(served)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sock.sendall(request * 3)
    sock.settimeout(10)
    answered = b""
    while answered.count(b"HTTP/1.1 200") < 3:
        chunk = sock.recv(4096)
        assert chunk, answered
        answered += chunk
    assert seconds_until_closed(sock) >= TIMEOUT * 0.9


def test_many_slow_connections_do_not_stop_a_normal_client(served: Served) -> None:
    slow = [connect(served) for _ in range(40)]
    for index, sock in enumerate(slow):
        if index % 2:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        started = time.monotonic()
        assert answers(served) == 200
        assert time.monotonic() - started < TIMEOUT + MARGIN
        for sock in slow:
            assert seconds_until_closed(sock, TIMEOUT + 2 * MARGIN) < TIMEOUT + 2 * MARGIN
    finally:
        for sock in slow:
            sock.close()
    assert answers(served) == 200


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_connections_over_the_cap_are_answered_503(scheme: str, tmp_path: Path) -> None:
    plain = ("--http",) if scheme == "http" else ()
    served = Served(tmp_path / "home", "", extra=(
        "--max-connections", "5", "--idle-timeout", "30", *plain)).start()
    try:
        held = [connect(served) for _ in range(5)]
        over = connect(served)
        over.settimeout(10)
        answer = b""
        try:
            while chunk := over.recv(4096):
                answer += chunk
        except (ConnectionResetError, ssl.SSLEOFError):
            pass
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"Retry-After: 1" in answer
        over.close()
        held.pop().close()
        time.sleep(0.5)  # the server sees the close
        # one place free again: a normal client is answered
        assert answers(served) == 200
        for sock in held:
            sock.close()
    finally:
        served.stop()


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_stop_does_not_wait_for_idle_keep_alive_connections(scheme: str, tmp_path: Path) -> None:
    """SIGTERM ends the server at once although a client keeps its connection open after its
    answer (and never reads again): it is not held until the 30 s idle clock runs out."""
    plain = ("--http",) if scheme == "http" else ()
    served = Served(tmp_path / "home", "", extra=("--idle-timeout", "30", *plain)).start()
    sock = connect(served)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        served.stop()
        assert served.process is not None and served.process.returncode is not None
        assert time.monotonic() - started < 10, "stop waited for the idle connection"
    finally:
        sock.close()
        served.stop()
