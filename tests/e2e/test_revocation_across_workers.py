"""Revocation takes effect at the very next request on every process (DESIGN, SECURITY
Decision 6): a served casegate with two worker processes, each request on a new connection.

`casegate serve --workers 2` gives each process its own SO_REUSEPORT socket, so the kernel
spreads new connections over both. Which process answered a request is not guessed: while
the connection is open, the test finds the worker that holds its server-side socket
(/proc/net/tcp and /proc/PID/fd); /metrics, read on the same connection, counts the
refusals both workers made (the workers' counts are added up, whichever one is scraped).
"""

import json
import os
import re
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from fixtures.served import Served, cli
from oauth.jwt_parts import claims_of

CASES = "/prweb/api/v1/cases"
TOKEN = "/prweb/PRRestService/oauth2/v1/token"
REVOKE = "/prweb/PRRestService/oauth2/v1/revoke"
INTROSPECT = "/prweb/PRRestService/oauth2/v1/token/introspect"
SEED = {"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest", "processID": "pyStartCase",
        "content": {"RequestID": "FT123", "RequestDetail": "faster trains, please!"}}
REFUSED = re.compile(r'^casegate_http_requests_total\{method="GET",'
                     r'route="/prweb/api/v1/cases/\{case_id\}",status="401"\} ([0-9.]+)$',
                     re.MULTILINE)
AFTER = 40  # requests after the revocation, each on a new connection


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    server = Served(tmp_path / "home", database_url, workers=2)
    server.start()
    yield server
    server.stop()


# -- which process answered --------------------------------------------------------------------


def workers(served: Served) -> list[int]:
    """The serve command's worker processes (its other child is multiprocessing's tracker)."""
    assert served.process is not None
    pid = served.process.pid
    children = {int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()}
    return sorted(c for c in children
                  if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes())


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = re.search(r"^State:\s+(\S)", status, re.MULTILINE)
    return state is not None and state.group(1) not in ("Z", "X")


def socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's end of one loopback connection."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if (int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port):
            return inode
    raise AssertionError(f"no server socket for client port {client_port}")


def answering_worker(pids: list[int], server_port: int, response: httpx.Response) -> int:
    """The worker holding the connection `response` came over (it is still open)."""
    stream = response.extensions["network_stream"]
    client_port = stream.get_extra_info("client_addr")[1]
    target = f"socket:[{socket_inode(server_port, client_port)}]"
    owners = []
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == target:
                    owners.append(pid)
            except FileNotFoundError:
                pass
    assert len(owners) == 1, f"{target} held by {owners}"
    return owners[0]


class Tally:
    """Requests each on a new connection, and which worker answered each."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.tls: ssl.SSLContext = served.tls()
        self.pids = workers(served)
        assert len(self.pids) == 2 and all(alive(pid) for pid in self.pids), self.pids
        self.answered: dict[int, int] = {}
        self.refused = 0  # both workers' refusals, as the last /metrics scrape counted them

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.served.url, verify=self.tls, timeout=30) as web:
            response = web.request(method, path, **kwargs)
            pid = answering_worker(self.pids, self.served.port, response)
            self.answered[pid] = self.answered.get(pid, 0) + 1
            metrics = web.get("/metrics")  # same connection, so the same worker
            assert answering_worker(self.pids, self.served.port, metrics) == pid
            found = REFUSED.search(metrics.text)
            self.refused = int(float(found.group(1))) if found else 0
            return response


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def get_token(tally: Tally, client_id: str, secret: str) -> str:
    answer = tally.request("POST", TOKEN, data={"grant_type": "client_credentials"},
                           auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def use_everywhere(tally: Tally, token: str, case_path: str, least: int = 16) -> None:
    """At least `least` reads on new connections, and on until both workers answered 200."""
    before = dict(tally.answered)
    for attempt in range(200):
        shown = tally.request("GET", case_path, headers={"Authorization": f"Bearer {token}"})
        assert shown.status_code == 200, shown.text
        both = all(tally.answered.get(p, 0) > before.get(p, 0) for p in tally.pids)
        if attempt + 1 >= least and both:
            return
    raise AssertionError(f"one worker answered every connection: {tally.answered}")


def refused_everywhere(tally: Tally, token: str, case_path: str) -> None:
    """AFTER requests on new connections: every one refused, by both workers."""
    before_answered = dict(tally.answered)
    before_refused = tally.refused
    for _ in range(AFTER):
        assert_refused(tally.request("GET", case_path,
                                     headers={"Authorization": f"Bearer {token}"}))
    served_now = {p: tally.answered.get(p, 0) - before_answered.get(p, 0) for p in tally.pids}
    assert all(n > 0 for n in served_now.values()), f"refusals by worker: {served_now}"
    # the metrics, scraped from either worker, counted every refusal of both
    assert tally.refused - before_refused == AFTER, (tally.refused, before_refused)
    assert all(alive(pid) for pid in tally.pids)


def create_case(tally: Tally, token: str) -> str:
    created = tally.request("POST", CASES, json=SEED,
                            headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text
    return f"{CASES}/{quote(created.json()['ID'])}"


# -- the tests ------------------------------------------------------------------------------


def test_revoked_token_fails_on_every_worker(served: Served) -> None:
    tally = Tally(served)
    client_id, secret = served.demo["client_id"], served.demo["client_secret"]
    token = get_token(tally, client_id, secret)
    case_path = create_case(tally, token)
    use_everywhere(tally, token, case_path)

    revoked = tally.request("POST", REVOKE, data={"token": token}, auth=(client_id, secret))
    assert revoked.status_code == 200

    refused_everywhere(tally, token, case_path)
    # another token of the same client is untouched (RFC 7009 revokes one token)
    use_everywhere(tally, get_token(tally, client_id, secret), case_path, least=4)


def test_regenerated_secret_then_disabled_operator_fail_on_every_worker(served: Served) -> None:
    """The CLI writes the "not before" marks in the database; no worker is told directly."""
    tally = Tally(served)
    client_id, secret = served.demo["client_id"], served.demo["client_secret"]
    token = get_token(tally, client_id, secret)
    case_path = create_case(tally, token)
    use_everywhere(tally, token, case_path)

    regenerated = json.loads(cli(served.env, "client", "regenerate-secret", client_id,
                                 "--json").stdout)
    new_secret = regenerated["client_secret"]
    assert new_secret != secret
    refused_everywhere(tally, token, case_path)
    old = tally.request("POST", TOKEN, data={"grant_type": "client_credentials"},
                        auth=(client_id, secret))
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"

    # a token from the new secret works everywhere, until its operator is disabled
    fresh = get_token(tally, client_id, new_secret)
    use_everywhere(tally, fresh, case_path, least=4)
    shown = json.loads(cli(served.env, "operator", "disable", served.demo["operator"],
                           "--json").stdout)
    assert shown["enabled"] is False
    refused_everywhere(tally, fresh, case_path)


def test_a_revoked_token_is_inactive_at_introspection_on_every_worker(served: Served) -> None:
    tally = Tally(served)
    auth = (served.demo["client_id"], served.demo["client_secret"])
    token = get_token(tally, *auth)

    def introspected_everywhere(active: bool, least: int) -> None:
        before = dict(tally.answered)
        for attempt in range(200):
            answer = tally.request("POST", INTROSPECT, data={"token": token}, auth=auth)
            assert answer.status_code == 200, answer.text
            assert answer.json()["active"] is active, answer.text
            both = all(tally.answered.get(p, 0) > before.get(p, 0) for p in tally.pids)
            if attempt + 1 >= least and both:
                return
        raise AssertionError(f"one worker answered every connection: {tally.answered}")

    introspected_everywhere(True, 8)  # each worker verified (and remembered) the token
    revoked = tally.request("POST", REVOKE, data={"token": token}, auth=auth)
    assert revoked.status_code == 200
    introspected_everywhere(False, AFTER)  # from the first request after the revocation


def test_a_revoked_token_is_refused_at_post_cases_among_concurrent_requests(
        served: Served) -> None:
    """POST /cases reads each token's live check with those of the other requests of the
    moment (one statement on PostgreSQL): the revoked token is refused at the next request
    on each worker, and, among many concurrent requests mixing it with a live token, each
    request gets its own token's answer."""
    tally = Tally(served)
    auth = (served.demo["client_id"], served.demo["client_secret"])
    revoked, live = get_token(tally, *auth), get_token(tally, *auth)

    def post(token: str) -> httpx.Response:
        return tally.request("POST", CASES, json=SEED,
                             headers={"Authorization": f"Bearer {token}"})

    for token in (revoked, live):  # both workers have used both tokens
        before = dict(tally.answered)
        for _ in range(200):
            assert post(token).status_code == 201
            if all(tally.answered.get(p, 0) > before.get(p, 0) for p in tally.pids):
                break
        else:
            raise AssertionError(f"one worker answered every connection: {tally.answered}")
    assert tally.request("POST", REVOKE, data={"token": revoked}, auth=auth).status_code == 200

    before = dict(tally.answered)
    for _ in range(AFTER):
        assert_refused(post(revoked))
    assert all(tally.answered.get(p, 0) > before.get(p, 0) for p in tally.pids), tally.answered

    # 8 clients at once, each on its own kept-alive connection, alternating the two tokens
    def client(n: int) -> list[tuple[str, int]]:
        seen = []
        with httpx.Client(base_url=served.url, verify=tally.tls, timeout=30) as web:
            for i in range(30):
                token = revoked if (n + i) % 2 else live
                answer = web.post(CASES, json=SEED,
                                  headers={"Authorization": f"Bearer {token}"})
                seen.append((token, answer.status_code))
        return seen

    with ThreadPoolExecutor(8) as pool:
        answers = [seen for found in pool.map(client, range(8)) for seen in found]
    assert {status for token, status in answers if token == revoked} == {401}
    assert {status for token, status in answers if token == live} == {201}


def test_concurrent_token_requests_each_get_their_own_clients_answer(served: Served) -> None:
    """The token endpoint reads each request's client with those of the other requests of
    the moment (one statement on PostgreSQL): among concurrent requests mixing two clients,
    a wrong secret and an unknown client, each gets its own client's answer; a client
    disabled by the CLI is refused from the next request on."""
    tally = Tally(served)
    first = (served.demo["client_id"], served.demo["client_secret"])
    made = json.loads(cli(served.env, "client", "create", "--name", "second",
                          "--operator", served.demo["operator"], "--json").stdout)
    second = (made["client_id"], made["client_secret"])
    asks = [first, second, (first[0], second[1]), ("no-such-client", first[1])]

    def client(n: int) -> list[tuple[int, int, str]]:
        seen = []
        with httpx.Client(base_url=served.url, verify=tally.tls, timeout=30) as web:
            for i in range(24):
                k = (n + i) % len(asks)
                answer = web.post(TOKEN, data={"grant_type": "client_credentials"},
                                  auth=asks[k])
                if answer.status_code == 200:
                    claims = claims_of(answer.json()["access_token"])
                    seen.append((k, 200, claims["client_id"]))
                else:  # 401, or 429 once the failures of a minute passed the throttle's limit
                    assert answer.status_code in (401, 429), answer.text
                    assert answer.json()["error"] == "invalid_client", answer.text
                    seen.append((k, 401, ""))
        return seen

    def together() -> list[tuple[int, int, str]]:
        with ThreadPoolExecutor(8) as pool:
            return [seen for found in pool.map(client, range(8)) for seen in found]

    answers = together()
    assert {(k, status, to) for k, status, to in answers} == {
        (0, 200, first[0]), (1, 200, second[0]), (2, 401, ""), (3, 401, "")}

    cli(served.env, "client", "disable", second[0])
    answers = together()
    assert {(k, status) for k, status, _ in answers} == {
        (0, 200), (1, 401), (2, 401), (3, 401)}
