"""`casegate serve --workers N` spreads kept-alive connections evenly over its workers
(web/balance.py): they share one listening socket and a worker takes a new connection only
while it holds no more than any other running worker."""

import os
import select
import signal
import socket
import ssl
import time
from pathlib import Path

import httpx

from casegate.web.balance import Balance
from fixtures.served import Served


def test_a_worker_accepts_only_while_it_holds_no_more_than_the_others() -> None:
    counts, beats = [-1, -1, -1], [0.0, 0.0, 0.0]
    first, second = Balance(counts, beats, 0), Balance(counts, beats, 1)
    assert first.may_accept()  # alone: the others are not running
    first.held(0)
    second.held(0)
    assert first.may_accept() and second.may_accept()  # even: either may
    first.arrived(1)  # accepted, its TLS handshake under way
    assert counts[:2] == [1, 0]
    assert not first.may_accept() and second.may_accept()
    first.handed_over(1)  # its protocol has it now: counted once
    assert counts[:2] == [1, 0] and not first.may_accept()
    second.held(1)
    assert first.may_accept() and second.may_accept()
    second.leave()  # stopped or dead: nobody waits for it
    first.held(5)
    assert counts[:2] == [5, -1] and first.may_accept()


def test_a_worker_that_stopped_beating_is_not_waited_for() -> None:
    counts, beats = [-1, -1], [0.0, 0.0]
    first, second = Balance(counts, beats, 0), Balance(counts, beats, 1)
    first.held(3)
    second.held(1)
    assert not first.may_accept()
    beats[1] = time.monotonic() - Balance.STALE - 0.1  # its event loop has not turned since
    assert first.may_accept()
    second.beat()
    assert not first.may_accept()


def sockets_of(pid: int) -> int:
    found = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:  # closed meanwhile
            continue
    return found


def has_open(pid: int, path: Path) -> bool:
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return str(path) in links


def assert_split_evenly(held: list[socket.socket] | list[ssl.SSLSocket], workers: list[int],
                        before: dict[int, int]) -> None:
    """Each connection answered (accepted and handed to its worker), half of them held by
    each worker; then closed, and both workers seeing them closed."""
    count = len(held)
    try:
        for conn in held:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for conn in held:
            assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
        spread = sorted(sockets_of(pid) - before[pid] for pid in workers)
        assert spread == [count // 2, count - count // 2], spread
    finally:
        for conn in held:
            conn.close()
    deadline = time.monotonic() + 30
    while any(sockets_of(pid) > before[pid] for pid in workers):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_kept_alive_connections_spread_evenly_over_the_workers(tmp_path: Path) -> None:
    served = Served(tmp_path / "home", "", workers=2).start()
    try:
        workers = served.worker_pids()
        assert len(workers) == 2
        database = (tmp_path / "home" / "casegate.db").resolve()
        deadline = time.monotonic() + 60  # each worker has started serving once it has
        while not all(has_open(pid, database) for pid in workers):  # read its keys
            assert time.monotonic() < deadline, "a worker did not start"
            time.sleep(0.1)
        time.sleep(0.5)
        before = {pid: sockets_of(pid) for pid in workers}
        # a socket per worker (SO_REUSEPORT) spread 40 by a hash: 20 and 20 one time in eight;
        # a shared socket alone let the first worker to wake take the whole burst
        for count in (40, 15, 30):
            raw = [socket.create_connection(("127.0.0.1", served.port), timeout=30)
                   for _ in range(count)]  # a burst, all waiting to be accepted
            held = [served.tls().wrap_socket(conn, server_hostname="127.0.0.1")
                    for conn in raw]
            assert_split_evenly(held, workers, before)
    finally:
        served.stop()


def burst(port: int, count: int) -> list[socket.socket]:
    """`count` connections opened at once, as a load generator opens them (non-blocking
    connects, then waiting for all), not one after the other."""
    held = []
    for _ in range(count):
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conn.setblocking(False)
        conn.connect_ex(("127.0.0.1", port))
        held.append(conn)
    deadline = time.monotonic() + 30
    waiting = list(held)
    while waiting:
        assert time.monotonic() < deadline, "connections not accepted"
        _, ready, _ = select.select([], waiting, [], 1)
        waiting = [conn for conn in waiting if conn not in ready]
    for conn in held:
        conn.setblocking(True)
        conn.settimeout(30)
    return held


def test_a_burst_of_plain_connections_splits_evenly(tmp_path: Path) -> None:
    # without TLS every protocol of a burst takes its connection at once: each is counted
    # once, or the other worker, seeing the double count, takes more than its share
    served = Served(tmp_path / "home", "", workers=2, extra=("--http",)).start()
    try:
        workers = served.worker_pids()
        assert len(workers) == 2
        with httpx.Client(base_url=served.url, timeout=30) as client:  # both serving
            assert all(client.get("/healthz").status_code == 200 for _ in range(8))
        time.sleep(0.5)
        before = {pid: sockets_of(pid) for pid in workers}
        for count in (32, 40, 15, *[32] * 12):
            assert_split_evenly(burst(served.port, count), workers, before)
    finally:
        served.stop()


def test_the_tls_handshake_of_a_connection_is_still_checked(tmp_path: Path) -> None:
    # the workers hand accepted sockets to uvicorn's protocol themselves: a client that does
    # not trust the certificate is refused, and the next ones are served as before
    served = Served(tmp_path / "home", "", workers=2).start()
    try:
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", served.port), timeout=30) as raw:
                try:
                    ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
                    raise AssertionError("an untrusted certificate was accepted")
                except ssl.SSLCertVerificationError:
                    pass
        with served.client() as client:
            assert all(client.get("/healthz").status_code == 200 for _ in range(8))
    finally:
        served.stop()


def test_a_stopped_worker_does_not_hold_back_new_connections(tmp_path: Path) -> None:
    # a worker that stays alive but does not run (SIGSTOP here; a stuck event loop alike)
    # keeps its count: the other worker takes every new connection once it is stale
    served = Served(tmp_path / "home", "", workers=2).start()
    workers = sorted(served.worker_pids())
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGSTOP)
    try:
        time.sleep(2)
        held = []
        try:
            for _ in range(6):  # kept open: each one more for the running worker to hold
                raw = socket.create_connection(("127.0.0.1", served.port), timeout=15)
                held.append(served.tls().wrap_socket(raw, server_hostname="127.0.0.1"))
                held[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert held[-1].recv(65536).startswith(b"HTTP/1.1 200 ")
            assert sockets_of(workers[1]) >= 6
        finally:
            for conn in held:
                conn.close()
    finally:
        os.kill(workers[0], signal.SIGCONT)
        served.stop()
