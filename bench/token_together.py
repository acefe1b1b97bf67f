"""Tokens from casegate of other source trees, casegate as it is and the bare ceiling, all
loaded AT THE SAME TIME each round, so each meets the same machine load (on a shared
machine, taking turns let the load of the moment decide); the ratios are per round.

  git archive COMMIT src | tar -x -C /tmp/before
  uv run python bench/token_together.py --tree before=/tmp/before/src [--rounds 10] [--seconds 4]

Each server runs 2 workers; wrk with 32 connections (bench/wrk/token.lua). Prints each
round and the medians of CPU ms per token (the server's process group) and of the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
from pathlib import Path
from typing import Any

import run as bench


def run_wrk(answers: dict[str, dict[str, Any]], name: str, load: bench.Load,
            opts: argparse.Namespace) -> None:
    answers[name] = bench.wrk(load, opts.conns, opts.seconds, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", default=[],
                        help="NAME=SRC: casegate from this src/ directory (PYTHONPATH)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--conns", type=int, default=32)
    opts = parser.parse_args()
    trees = [tuple(t.split("=", 1)) for t in opts.tree] + [("after", "")]
    work = Path(tempfile.mkdtemp(prefix="casegate-together-"))
    servers: dict[str, tuple[bench.Server, bench.Load]] = {}
    try:
        for name, src in trees:
            casegate = bench.Casegate(work / name, "")
            env = {"PYTHONPATH": src} if src else {}
            os.environ.update(env)  # init, from the same tree
            casegate.init()
            os.environ.pop("PYTHONPATH", None)
            port = bench.free_port()
            server = casegate.server(port, 2)
            server.name, server.env = name, {**server.env, **env}
            server.start(work)
            servers[name] = (server, casegate.loads(port)["token"])
        port = bench.free_port()
        bare = bench.bare_server(port, 2, work)
        bare.start(work)
        servers["bare"] = (bare, bench.bare_loads(port)["token"])
        for _, load in servers.values():  # warm-up
            bench.wrk(load, opts.conns, 2, None)
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        for number in range(opts.rounds):
            answers: dict[str, dict[str, Any]] = {}
            before = {name: bench.group_cpu(s.pgid) for name, (s, _) in servers.items()}
            loads = [threading.Thread(target=run_wrk, args=(answers, name, load, opts))
                     for name, (_, load) in servers.items()]
            for thread in loads:
                thread.start()
            for thread in loads:
                thread.join()
            shown = []
            for name, (server, _) in servers.items():
                answer = answers[name]
                used = bench.group_cpu(server.pgid) - before[name]
                cpu[name].append(1000 * used / max(answer["requests"], 1))
                shown.append(f"{name} {cpu[name][-1]:.3f} ms/token {answer['rps']:,.0f}/s "
                             f"p99 {answer['p99_ms']:.0f} ms non-2xx {answer['non_2xx_3xx']}")
            bench.log(f"round {number + 1}: " + "; ".join(shown))
    finally:
        for server, _ in servers.values():
            server.stop()
    for name, values in cpu.items():
        bench.log(f"{name}: median {statistics.median(values):.3f} ms CPU per token")
    for name in cpu:
        if name == "bare":
            continue
        ratio = statistics.median(a / b for a, b in zip(cpu[name], cpu["bare"], strict=True))
        bench.log(f"{name} / bare CPU per token: {ratio:.2f} (median of rounds), "
                  f"{1 / ratio:.2f}x bare's tokens per CPU-second")
        if name != "after":
            ratio = statistics.median(
                a / b for a, b in zip(cpu["after"], cpu[name], strict=True))
            bench.log(f"after / {name} CPU per token: {ratio:.3f} (median of rounds)")


if __name__ == "__main__":
    main()
