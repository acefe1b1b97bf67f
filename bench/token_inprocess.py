"""CPU per token of the token endpoint's user-space work: the ASGI app driven in one
process (no sockets, no HTTP server), client_credentials with HTTP Basic on SQLite.

  uv run python bench/token_inprocess.py [--tokens 2500] [--runs 3]

Against the tree before a change, run both at the same time (the same machine load on each)
and compare their medians, pair by pair:

  git archive COMMIT src | tar -x -C /tmp/before
  PYTHONPATH=/tmp/before/src uv run python bench/token_inprocess.py & \
      uv run python bench/token_inprocess.py; wait
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

TOKEN = "/prweb/PRRestService/oauth2/v1/token"


async def measure(app: Any, headers: list[tuple[bytes, bytes]], body: bytes, tokens: int,
                  runs: int) -> list[float]:
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"},
                                        "state": {}}, startup.get, started.put))
    assert (await started.get())["type"] == "lifespan.startup.complete"

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def one() -> None:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                   "http_version": "1.1", "server": ("127.0.0.1", 8000),
                   "client": ("127.0.0.1", 5555), "scheme": "http", "root_path": "",
                   "headers": list(headers), "state": {}, "method": "POST", "path": TOKEN,
                   "raw_path": TOKEN.encode(), "query_string": b""}, receive, send)
        assert sent[0]["status"] == 200, sent

    for _ in range(300):  # warm-up
        await one()
    per_token = []
    for _ in range(runs):
        started_at = time.process_time()
        for _ in range(tokens):
            await one()
        per_token.append(1e6 * (time.process_time() - started_at) / tokens)
        print(f"{per_token[-1]:.1f} µs CPU per token", flush=True)
    lifespan.cancel()
    return per_token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    home = tempfile.mkdtemp(prefix="casegate-inprocess-")
    os.environ["CASEGATE_HOME"] = home
    done = subprocess.run([sys.executable, "-m", "casegate", "init", "--demo", "--json"],
                          capture_output=True, text=True, check=True)
    demo = json.loads(done.stdout)

    from casegate import logs, metrics
    from casegate.app import create_app
    from casegate.settings import Settings

    logs.configure("text")  # as a server logs: the access line to a batched stderr
    metrics.enable()
    app = create_app(Settings(http=True))
    basic = base64.b64encode(f"{demo['client_id']}:{demo['client_secret']}".encode())
    body = b"grant_type=client_credentials"
    headers = [(b"host", b"127.0.0.1"), (b"authorization", b"Basic " + basic),
               (b"content-type", b"application/x-www-form-urlencoded"),
               (b"content-length", str(len(body)).encode())]
    per_token = asyncio.run(measure(app, headers, body, opts.tokens, opts.runs))
    print(f"median {statistics.median(per_token):.1f} µs CPU per token", flush=True)
    os._exit(0)  # the app's writer threads: nothing of theirs is measured


if __name__ == "__main__":
    main()
