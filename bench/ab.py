"""casegate at two revisions, side by side: run after run in turn (A B A B ...), with the
bare ceiling in each round, so that a machine busy with other work weighs on both alike.

  uv run python bench/ab.py --before main --rounds 3 --out bench/results/cases-tail
  uv run python bench/ab.py --before HEAD~2 --after HEAD --workload token
  uv run python bench/ab.py --engine postgresql --out bench/results/pgcases

--engine postgresql: every run on a fresh database of one private PostgreSQL cluster (the
bare ceiling's too, as bench/run.py's compare), with the cluster's CPU per request beside the
server's (fsync off, as in bench/run.py: commits cost round trips, not the disk).

A revision is `git archive`d into a temporary folder and served from there (PYTHONPATH
before the installed casegate); the working tree is the default `--after`. Each run is a
fresh home and database, `casegate serve --http --workers N`, warm-up, then one timed wrk
run at --conns (bench/run.py's measure: server CPU from the process group). results.md
lists every run with the load average at its start, and per round the ratios after/before
and after/bare of throughput, p50, p99 and CPU per request, with their medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402 (the repository's root is put on the path above)
    ROOT,
    Casegate,
    Options,
    bare_loads,
    bare_server,
    databases,
    free_port,
    log,
    measure,
    running,
    versions,
)

KEYS = ("ok_rps", "p50_ms", "p99_ms", "cpu_ms_per_req", "db_cpu_ms_per_req")


def checkout(revision: str, into: Path) -> Path:
    """The src/ folder of `revision`, unpacked under `into` (a folder given is taken as it
    is: a tree with a change taken out by hand)."""
    if Path(revision).is_dir():
        return Path(revision).resolve()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def describe(revision: str) -> str:
    if Path(revision).is_dir():
        return f"the folder {revision}"
    done = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", revision],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip()[:100] or revision


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def one_run(name: str, src: Path | None, work: Path, opts: Options, workload: str,
            rows: list[dict[str, Any]], round_: int, db_url: str = "",
            postmaster: int | None = None) -> None:
    home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))
    saved = os.environ.get("PYTHONPATH")
    if src is not None:  # the revision's casegate before the installed one
        os.environ["PYTHONPATH"] = str(src)
    try:
        if name == "bare":
            server = bare_server(free_port(), opts.workers, home, db_url)
            make_loads = bare_loads
        else:
            cg = Casegate(home / "home", db_url)
            cg.init()
            server = cg.server(free_port(), opts.workers)
            make_loads = cg.loads
        with running(server, home):  # the server's log stays with its home, not in OUT
            loads = make_loads(server.port)
            load = load_average()
            row = measure(server, loads[workload], opts.conns[0], opts,
                          {"section": "ab", "target": name, "workload": workload,
                           "round": round_}, rows, postmaster)
            row["load_at_start"] = load
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def ratios(rows: list[dict[str, Any]], a: str, b: str) -> list[dict[str, float]]:
    """Per round, row(a)[key] / row(b)[key] for each of KEYS."""
    out = []
    for row in rows:
        if row["target"] != a:
            continue
        other = next((r for r in rows if r["target"] == b and r["round"] == row["round"]),
                     None)
        if other:
            out.append({k: row[k] / other[k] for k in KEYS if other.get(k)})
    return out


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, found: dict[str, str]
             ) -> str:
    lines = [f"# casegate at two revisions, side by side: {args.workload} on {args.engine}, "
             f"{args.conns} connections, {args.workers} processes", "",
             f"- before: `{describe(args.before)}`",
             f"- after: `{describe(args.after) if args.after else 'the working tree'}`",
             f"- date_utc: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
             *(f"- {k}: {v}" for k, v in found.items() if k in ("cpu", "python", "sqlite")),
             f"- wrk -t1, {args.duration:g} s per run after {args.warmup:g} s of warm-up; "
             "rounds run in turn (before, after, bare); server CPU is the whole process "
             "group's", "",
             "## Ratios per round (and their median)", "",
             "| pair | round | throughput | p50 | p99 | CPU per request | db CPU per request |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for a, b in (("after", "before"), ("after", "bare"), ("before", "bare")):
        found_ratios = ratios(rows, a, b)
        for i, r in enumerate(found_ratios, 1):
            lines.append(f"| {a} / {b} | {i} | " + " | ".join(
                f"{r[k]:.2f}x" if k in r else "" for k in KEYS) + " |")
        if found_ratios:
            lines.append(f"| {a} / {b} | **median** | " + " | ".join(
                f"**{statistics.median(r[k] for r in found_ratios):.2f}x**"
                if all(k in r for r in found_ratios) else "" for k in KEYS) + " |")
    lines += ["", "## Every run", "",
              "| round | target | load average at start | req/s | p50 ms | p99 ms | errors | "
              "CPU ms/req | db CPU ms/req | server cores |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['round']} | {r['target']} | {r.get('load_at_start', '')} | "
                     f"{r['ok_rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['errors']} | {r['cpu_ms_per_req']:.3f} | "
                     f"{r.get('db_cpu_ms_per_req', '')} | {r['server_cores']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="main",
                        help="git revision, or a src/ folder (default main)")
    parser.add_argument("--after", default="", help="git revision (default the working tree)")
    parser.add_argument("--workload", default="cases", choices=["cases", "token", "introspect"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--no-bare", action="store_true", help="casegate only")
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"],
                        help="database of every run (postgresql: a private cluster)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/ab"))
    args = parser.parse_args(argv)
    opts = Options(duration=args.duration, warmup=args.warmup, conns=[args.conns],
                   workers=args.workers, out=args.out, smoke=False)
    for folder in (args.out, args.out / "raw"):
        folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="casegate-ab-") as tmp, \
            databases(Path(tmp), [args.engine]) as fresh:
        work = Path(tmp)
        before = checkout(args.before, work / "before")
        after = checkout(args.after, work / "after") if args.after else None
        targets: list[tuple[str, Path | None]] = [("before", before), ("after", after)]
        if not args.no_bare:
            targets.append(("bare", None))
        for round_ in range(1, args.rounds + 1):
            for name, src in targets:
                one_run(name, src, work, opts, args.workload, rows, round_,
                        fresh(args.engine), fresh.postmaster(args.engine))
    (args.out / "runs.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "results.md").write_text(markdown(rows, args, versions()))
    log((args.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
