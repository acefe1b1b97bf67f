"""Introspection side by side in one run: casegate as it is ("after"), optionally casegate from
another source tree ("before", the tree before a change), and the bare ceiling, each measured
in turn, round after round.

  git archive COMMIT src | tar -x -C /tmp/before
  uv run python bench/introspect_side.py --before /tmp/before/src [--rounds 3] [--seconds 10]

Each server runs 2 workers; wrk with 32 connections (bench/wrk/introspect.lua: HTTP Basic, a
live access token). Prints each run and, per round, the ratios to the bare ceiling: req/s and
CPU ms per request of the server's process group (judge by CPU on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import run as bench


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a src/ directory served as 'before' (PYTHONPATH)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, help="write the runs here (JSON)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="casegate-introspect-"))
    (work / "raw").mkdir()
    opts = bench.Options(duration=args.seconds, warmup=2, conns=[32], workers=2, out=work,
                         smoke=False)
    servers: dict[str, bench.Server] = {}
    homes: dict[str, bench.Casegate] = {}
    for name in (["before"] if args.before else []) + ["after"]:
        homes[name] = bench.Casegate(work / name, "")
        homes[name].init()
        servers[name] = homes[name].server(bench.free_port(), 2)
        servers[name].name = name
        if name == "before":
            servers[name].env["PYTHONPATH"] = args.before
    servers["bare"] = bench.bare_server(bench.free_port(), 2, work)
    rows: list[dict[str, Any]] = []
    try:
        for server in servers.values():
            server.start(work)
        loads = {name: homes[name].loads(server.port)["introspect"] if name in homes
                 else bench.bare_loads(server.port)["introspect"]
                 for name, server in servers.items()}
        for r in range(args.rounds):
            for name, server in servers.items():
                bench.measure(server, loads[name], 32, opts, {"who": name, "round": r}, rows)
    finally:
        for server in servers.values():
            server.stop()
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    for r in range(args.rounds):
        bare = rows[r * len(servers) + len(servers) - 1]
        parts = [f"round {r}:"]
        for row in rows[r * len(servers):(r + 1) * len(servers) - 1]:
            parts.append(f"{row['who']} {row['rps'] / bare['rps']:.2f}x bare req/s, "
                         f"{row['cpu_ms_per_req'] / bare['cpu_ms_per_req']:.2f}x bare CPU/req")
        bench.log("  ".join(parts))


if __name__ == "__main__":
    main()
