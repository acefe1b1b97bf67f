"""Soak: `casegate serve --http --workers N` under a mixed load for some minutes, each
worker's resident memory sampled every few seconds; growth per worker and errors reported.

  uv run python bench/soak.py                    10 minutes, 2 workers, bench/results/soak.md
  uv run python bench/soak.py --minutes 1 --out /tmp/soak.md

The load: CONNS client loops, each repeating: a client_credentials token; a case created
(POST /prweb/api/v1/cases) and read back; the token introspected; every fifth round the
token revoked (RFC 7009) and a call with it refused. Anything else than the expected status
counts as an error. Not part of the test suite: it loads the machine for its whole length.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from run import CASE_BODY, CASES_PATH, INTROSPECT_PATH, TOKEN_PATH, free_port  # noqa: E402

REVOKE_PATH = "/prweb/PRRestService/oauth2/v1/revoke"


def workers_of(parent: int) -> list[int]:
    """The serve process's worker processes (its children)."""
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        return []
    return [pid for pid in map(int, children)
            if b"spawn_main" in _read(Path(f"/proc/{pid}/cmdline"))]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def rss_mib(pid: int) -> float | None:
    for line in _read(Path(f"/proc/{pid}/status")).decode().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


class Tally:
    def __init__(self) -> None:
        self.ok: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def check(self, what: str, answer: httpx.Response | Exception, expected: int) -> bool:
        if isinstance(answer, Exception):
            self.errors[f"{what}: {type(answer).__name__}"] += 1
            return False
        if answer.status_code != expected:
            self.errors[f"{what}: {answer.status_code}"] += 1
            return False
        self.ok[what] += 1
        return True


async def call(client: httpx.AsyncClient, method: str, path: str,
               **kwargs: object) -> httpx.Response | Exception:
    try:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        return exc


async def client_loop(base: str, basic: str, until: float, tally: Tally) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        rounds = 0
        while time.monotonic() < until:
            rounds += 1
            answer = await call(client, "POST", TOKEN_PATH, headers=form,
                                content=b"grant_type=client_credentials")
            if not tally.check("token", answer, 200):
                await asyncio.sleep(0.5)
                continue
            assert isinstance(answer, httpx.Response)
            token = answer.json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            created = await call(client, "POST", CASES_PATH, headers=bearer, content=CASE_BODY)
            if tally.check("case create", created, 201):
                assert isinstance(created, httpx.Response)
                case_id = created.json()["ID"]
                tally.check("case read", await call(
                    client, "GET", f"{CASES_PATH}/{case_id}", headers=bearer), 200)
            tally.check("introspect", await call(
                client, "POST", INTROSPECT_PATH, headers=form,
                content=f"token={token}".encode()), 200)
            if rounds % 5 == 0:
                tally.check("revoke", await call(client, "POST", REVOKE_PATH, headers=form,
                                                 content=f"token={token}".encode()), 200)
                tally.check("revoked refused", await call(
                    client, "POST", CASES_PATH, headers=bearer, content=CASE_BODY), 401)


async def load(base: str, basic: str, seconds: float, conns: int, tally: Tally) -> None:
    until = time.monotonic() + seconds
    await asyncio.gather(*(client_loop(base, basic, until, tally) for _ in range(conns)))


def sampler(parent: int, interval: float, stop: asyncio.Event,
            samples: list[tuple[float, dict[int, float]]]) -> asyncio.Task[None]:
    async def run() -> None:
        started = time.monotonic()
        while True:
            found = {pid: mib for pid in workers_of(parent)
                     if (mib := rss_mib(pid)) is not None}
            samples.append((time.monotonic() - started, found))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
                return

    return asyncio.get_running_loop().create_task(run())


def report(samples: list[tuple[float, dict[int, float]]], tally: Tally, minutes: float,
           workers: int, conns: int) -> str:
    pids = sorted({pid for _, found in samples for pid in found})
    lines = ["# casegate soak", "",
             f"`casegate serve --http --workers {workers}` on SQLite, {conns} client loops "
             f"for {minutes:g} minutes (bench/soak.py; token, case create and read, "
             "introspection, and every fifth round a revocation and a refused call with the "
             "revoked token). Resident memory (VmRSS) of each worker, sampled every "
             f"{samples[1][0] - samples[0][0] if len(samples) > 1 else 0:.0f} s.",
             f"Date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}. The machine was "
             "shared with other work while it ran.", "",
             "| worker | first sample MiB | after 1 minute MiB | last MiB | growth from 1 "
             "minute MiB | growth from 1 minute % |", "| --- | --- | --- | --- | --- | --- |"]
    for pid in pids:
        mine = [(t, found[pid]) for t, found in samples if pid in found]
        first = mine[0][1]
        settled = next((mib for t, mib in mine if t >= 60), mine[0][1])
        last = mine[-1][1]
        lines.append(f"| {pid} | {first:.1f} | {settled:.1f} | {last:.1f} | "
                     f"{last - settled:+.1f} | {100 * (last - settled) / settled:+.1f} % |")
    total_ok = sum(tally.ok.values())
    total_errors = sum(tally.errors.values())
    lines += ["", f"Requests answered as expected: {total_ok:,} "
              f"({total_ok / (minutes * 60):.0f}/s); errors: {total_errors}.", "",
              "| request | as expected | errors |", "| --- | --- | --- |"]
    for what in sorted(set(tally.ok) | {k.split(":")[0] for k in tally.errors}):
        wrong = {k: v for k, v in tally.errors.items() if k.split(":")[0] == what}
        detail = ", ".join(f"{k.split(': ', 1)[1]} × {v}" for k, v in wrong.items())
        lines.append(f"| {what} | {tally.ok[what]:,} | {detail or 0} |")
    lines += ["", "## Samples (MiB)", "", "| seconds | " + " | ".join(map(str, pids)) + " |",
              "| --- |" + " --- |" * len(pids)]
    for t, found in samples:
        lines.append(f"| {t:.0f} | " + " | ".join(
            f"{found[pid]:.1f}" if pid in found else "" for pid in pids) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--conns", type=int, default=8, help="concurrent client loops")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "soak.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="casegate-soak-") as tmp:
        home = Path(tmp) / "home"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEGATE_")}
        env |= {"CASEGATE_HOME": str(home), "CASEGATE_PORT": str(port)}
        init = subprocess.run([sys.executable, "-m", "casegate", "init", "--demo", "--json"],
                              env=env, capture_output=True, text=True, check=True)
        demo = json.loads(init.stdout)
        basic = base64.b64encode(
            f"{demo['client_id']}:{demo['client_secret']}".encode()).decode()
        with (Path(tmp) / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "casegate", "serve", "--http", "--workers",
                 str(args.workers)], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/readyz", timeout=5).status_code == 200 and \
                            len(workers_of(server.pid)) == args.workers:
                        break
                if time.monotonic() > deadline or server.poll() is not None:
                    print((Path(tmp) / "serve.log").read_text()[-3000:])
                    return 1
                time.sleep(0.5)
            tally = Tally()
            samples: list[tuple[float, dict[int, float]]] = []

            async def soak() -> None:
                stop = asyncio.Event()
                task = sampler(server.pid, args.interval, stop, samples)
                await load(base, basic, args.minutes * 60, args.conns, tally)
                stop.set()
                await task

            asyncio.run(soak())
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    text = report(samples, tally, args.minutes, args.workers, args.conns)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
