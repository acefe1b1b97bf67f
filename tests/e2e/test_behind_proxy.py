"""The production topology, small: two `casegate serve` nodes (separate loopback ports,
standing in for hosts) on one PostgreSQL, behind nginx terminating TLS on a public URL.

Addresses: nginx connects to the nodes from 127.0.0.2 (proxy_bind), the only address in
CASEGATE_TRUSTED_PROXIES; the test's callers come from 127.0.0.3 and 127.0.0.4; a caller
reaching a node directly comes from 127.0.0.1. So the throttle's view of "the caller" shows
whose X-Forwarded-For was believed.
"""

import base64
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trustme

from fixtures.factories import CASES_PATH, REVOKE_PATH, SEED_BODY, TOKEN_PATH
from fixtures.postgres import PostgresServer
from fixtures.served import cli_in_process, free_port, with_bytecode_cache

PROXY = "127.0.0.2"
CALLER = "127.0.0.3"
OTHER_CALLER = "127.0.0.4"

NGINX_CONF = """
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream casegate {{
{servers}
        keepalive 8;
        keepalive_timeout 4s;  # below casegate's --idle-timeout: never a closed connection reused
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://casegate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_bind {proxy};
            proxy_set_header Host $host:$server_port;
            # the edge proxy overwrites what a caller sent: only the address it saw counts
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"""


@dataclass
class Topology:
    public: str
    cafile: str
    nodes: list[str]
    demo: dict[str, Any]

    def caller(self, address: str = CALLER) -> httpx.Client:
        """A client of the public URL, connecting from `address`."""
        transport = httpx.HTTPTransport(local_address=address,
                                        verify=ssl.create_default_context(cafile=self.cafile))
        return httpx.Client(base_url=self.public, transport=transport, timeout=30)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path,
                  verify: ssl.SSLContext | bool = True) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(url, verify=verify, timeout=2)
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def topology(postgres: PostgresServer, tmp_path: Path) -> Iterator[Topology]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: `bash scripts/test` installs it"
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:16]}")
    proxy_port = free_port()
    public = f"https://127.0.0.1:{proxy_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEGATE_")}
    env = with_bytecode_cache(env | {
        "CASEGATE_HOME": str(tmp_path / "home"), "CASEGATE_DATABASE_URL": url,
        "CASEGATE_ISSUER": public, "CASEGATE_TRUSTED_PROXIES": PROXY})
    demo = json.loads(cli_in_process(env, "init", "--demo", "--json"))

    processes: list[subprocess.Popen[bytes]] = []
    try:
        nodes = []
        for index in range(2):
            port = free_port()
            log = tmp_path / f"node{index}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "casegate", "serve", "--http", "--port", str(port)],
                env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                start_new_session=True)
            processes.append(process)
            nodes.append(f"http://127.0.0.1:{port}")
            wait_until_up(nodes[-1] + "/healthz", process, log)

        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        run = tmp_path / "nginx"
        run.mkdir()
        cafile, cert, key = run / "ca.pem", run / "cert.pem", run / "key.pem"
        ca.cert_pem.write_to_path(str(cafile))
        leaf.private_key_pem.write_to_path(str(key))
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        servers = "\n".join(f"        server {node.removeprefix('http://')};" for node in nodes)
        conf = run / "nginx.conf"
        conf.write_text(NGINX_CONF.format(run=run, servers=servers, port=proxy_port,
                                          cert=cert, key=key, proxy=PROXY))
        log = run / "error.log"
        process = subprocess.Popen([nginx, "-p", str(run), "-c", str(conf), "-g", "daemon off;"],
                                   stdout=subprocess.DEVNULL, stderr=(run / "stderr").open("w"),
                                   start_new_session=True)
        processes.append(process)
        wait_until_up(public + "/healthz", process, run / "stderr", verify=ssl.create_default_context(cafile=str(cafile)))
        yield Topology(public, str(cafile), nodes, demo)
    finally:
        for process in reversed(processes):
            stop(process)


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_the_walkthrough_through_the_proxy_and_a_revocation_seen_by_every_node(
        topology: Topology) -> None:
    client = (topology.demo["client_id"], topology.demo["client_secret"])
    with topology.caller() as web:
        metadata = web.get("/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == topology.public
        assert metadata["token_endpoint"] == topology.public + TOKEN_PATH
        issued = web.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=client)
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        assert claims(token)["iss"] == topology.public
        auth = {"Authorization": f"Bearer {token}"}
        made = web.post(CASES_PATH, json=SEED_BODY, headers=auth)
        assert made.status_code == 201, made.text
        case = f"{CASES_PATH}/{quote(made.json()['ID'])}"
        for _ in range(4):  # round robin: both nodes answer
            assert web.get(case, headers=auth).status_code == 200
        for node in topology.nodes:
            assert httpx.get(node + case, headers=auth).status_code == 200

        # revoked through one node...
        revoked = httpx.post(topology.nodes[0] + REVOKE_PATH, data={"token": token}, auth=client)
        assert revoked.status_code == 200
        # ...refused by every node, directly and through the proxy
        for node in topology.nodes:
            refused = httpx.get(node + case, headers=auth)
            assert refused.status_code == 401 and "invalid_token" in refused.headers[
                "www-authenticate"]
        for _ in range(4):
            assert web.get(case, headers=auth).status_code == 401


def test_the_throttle_sees_the_real_caller_and_ignores_anyone_elses_forwarded_for(
        topology: Topology) -> None:
    bad = (topology.demo["client_id"], "not-the-secret")
    form = {"grant_type": "client_credentials"}
    with topology.caller(CALLER) as web:
        answers = [web.post(TOKEN_PATH, data=form, auth=bad).status_code for _ in range(11)]
        assert answers == [401] * 10 + [429]
        # a forged X-Forwarded-For through the proxy changes nothing: nginx overwrites it
        forged = web.post(TOKEN_PATH, data=form, auth=bad,
                          headers={"X-Forwarded-For": OTHER_CALLER})
        assert forged.status_code == 429
    with topology.caller(OTHER_CALLER) as web:  # another caller is not held back
        assert web.post(TOKEN_PATH, data=form, auth=bad).status_code == 401
    # straight to a node from an address that is no trusted proxy: its X-Forwarded-For
    # naming the throttled caller is ignored, so this is the node's own caller's first failure
    direct = httpx.post(topology.nodes[0] + TOKEN_PATH, data=form, auth=bad,
                        headers={"X-Forwarded-For": CALLER})
    assert direct.status_code == 401
