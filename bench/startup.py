"""Start-up time of the `casegate` command: `--help`, a simple command, and `serve` until
/healthz answers. Prints the median wall time of several runs, and the import time of
casegate.cli as `python -X importtime` reports it (less noisy on a busy machine).

    uv run python bench/startup.py [--runs 5]

Bytecode is cached between runs (as an installed casegate has it). To time another
version, put its src/ first: PYTHONPATH=/path/to/old/src uv run python bench/startup.py
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CACHE = Path(tempfile.gettempdir()) / f"casegate-bench-pycache-{os.getuid()}"


def env(home: Path, **more: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("CASEGATE_") and k != "PYTHONDONTWRITEBYTECODE"}
    return base | {"PYTHONPYCACHEPREFIX": str(CACHE), "CASEGATE_HOME": str(home), **more}


def timed(args: list[str], environ: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "casegate", *args], env=environ, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def import_ms(args: list[str], environ: dict[str, str]) -> float:
    """casegate.cli's cumulative import time, in ms (python -X importtime)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "casegate", *args],
                            env=environ, capture_output=True, text=True, check=True)
    found = re.search(r"\|\s*(\d+) \| casegate\.cli$", result.stderr, re.MULTILINE)
    return int(found.group(1)) / 1000 if found else float("nan")


def serve_ready(environ: dict[str, str]) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "casegate", "serve", "--http", "--port",
                                str(port)], env=environ, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return time.perf_counter() - started
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise SystemExit("serve exited") from None
                time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        environ = env(Path(folder))
        subprocess.run([sys.executable, "-m", "casegate", "init"], env=environ, check=True,
                       capture_output=True)
        cases = {"--help": ["--help"], "client list": ["client", "list"],
                 "keys list": ["keys", "list"]}
        results: dict[str, dict[str, float]] = {}
        for name, args in cases.items():
            try:
                timed(args, environ)  # warm the bytecode cache
            except subprocess.CalledProcessError:  # an older casegate without this command
                results[name] = {"median_s": float("nan")}
                continue
            walls = [timed(args, environ) for _ in range(runs)]
            results[name] = {"median_s": round(statistics.median(walls), 3),
                             "import_casegate_cli_ms": import_ms(args, environ)}
        ready = [serve_ready(environ) for _ in range(max(1, runs // 2))]
        results["serve until /healthz"] = {"median_s": round(statistics.median(ready), 3)}
    results["load average"] = {"1 min": os.getloadavg()[0]}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
