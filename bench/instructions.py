"""Instructions per token of casegate's event-loop thread, counted by valgrind's callgrind:
a measure that other work on the machine does not move (repeated runs of one tree agree
within about 1 %, where CPU time per token moves by 10 - 20 % on a shared machine).

  uv run python bench/instructions.py --tree before=/tmp/before/src --tree after=src

Each tree: a fresh home, `casegate serve --http --workers 1` under callgrind (counting off),
wrk -t1 -c8 token requests for a warm-up, then counting on for --seconds of the same load.
The trees run at the same time (one core each). Prints, per tree, the tokens answered and
the instructions per token of the event loop's thread (the first) and of all threads. Only
the first compares: the background threads (audit writer, checkpoints, log writer) wake on
wall-clock intervals, and under callgrind (about 50x slower) they run far more often per
token than in a real server. What instructions miss: system calls, cache misses, waits.

Needs valgrind (`apt-get install valgrind`). Takes about a minute and a half.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import run as bench


def totals(out: Path) -> list[int]:
    """Instructions per thread, in thread order, of callgrind's files `out`-NN."""
    found = []
    for part in sorted(out.parent.glob(out.name + "-*")):
        for line in part.read_text().splitlines():
            if line.startswith("totals:"):
                found.append(int(line.split()[1]))
    return found


def prepare(src: str, home: Path) -> tuple[bench.Casegate, dict[str, str]]:
    """A demo home made by the tree's own `casegate init`, and the environment serving it."""
    casegate = bench.Casegate(home / "home", "")
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    try:
        casegate.init()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return casegate, {**env, **casegate.env()}


def count(name: str, casegate: bench.Casegate, env: dict[str, str], seconds: float,
          home: Path, answers: dict[str, str]) -> None:
    port = bench.free_port()
    out = home / "callgrind.out"
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
               f"--callgrind-out-file={out}", sys.executable, "-m", "casegate", "serve",
               "--http", "--port", str(port), "--workers", "1"]
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(1)
        load = casegate.loads(port)["token"]
        bench.wrk(load, 8, 10, None)  # warm-up, not counted
        subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True,
                       capture_output=True)
        result = bench.wrk(load, 8, seconds, None)
        subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True,
                       capture_output=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=300)
    threads = totals(out)
    tokens = result["requests"]
    answers[name] = (f"{name}: {tokens} tokens (non-2xx {result['non_2xx_3xx']}), event loop "
                     f"{threads[0] / tokens:,.0f} instructions per token, all threads "
                     f"{sum(threads) / tokens:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True,
                        help="NAME=SRC: casegate from this src/ directory")
    parser.add_argument("--seconds", type=float, default=20)
    opts = parser.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("bench/instructions.py needs valgrind: apt-get install valgrind")
    work = Path(tempfile.mkdtemp(prefix="casegate-instructions-"))
    answers: dict[str, str] = {}
    runs = []
    for tree in opts.tree:
        name, src = tree.split("=", 1)
        casegate, env = prepare(src, work / name)
        runs.append(threading.Thread(target=count, args=(name, casegate, env, opts.seconds,
                                                         work / name, answers)))
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    for tree in opts.tree:
        bench.log(answers.get(tree.split("=", 1)[0], f"{tree}: failed (see {work})"))


if __name__ == "__main__":
    main()
