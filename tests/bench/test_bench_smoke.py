"""The benchmark suite's smoke run: bench/run.py --smoke still starts casegate and the bare
ceiling, loads both and writes results with real numbers. Speed is never asserted."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_writes_real_numbers(tmp_path: Path) -> None:
    assert shutil.which("wrk"), "the smoke run needs wrk: scripts/test installs it (apt: wrk)"
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "results.json").read_text())
    rows = result["rows"]
    seen = {(r["target"], r["workload"]) for r in rows}
    assert seen == {("casegate", "token"), ("casegate", "cases"), ("bare", "token"),
                    ("bare", "cases")}
    for row in rows:
        assert row["requests"] > 0, row
        assert row["errors"] == 0, row
        assert row["ok_rps"] > 0 and row["p99_ms"] > 0 and row["cpu_ms_per_req"] > 0, row
        assert row["peak_rss_mb"] > 0, row
    assert "x bare ES256 signer (ceiling)" in result["summary"]
    assert "bare verify+insert" in result["summary"]
    table = (out / "results.md").read_text()
    assert "| compare | casegate | token |" in table
    assert "python:" in table and "sqlite:" in table
