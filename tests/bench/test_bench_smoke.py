"""The benchmark suite's smoke run: bench/run.py --smoke still starts casegate and the bare
ceiling, loads both and writes results with real numbers. Speed is never asserted."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_writes_real_numbers_on_both_engines(tmp_path: Path) -> None:
    """--engines: casegate and the bare ceiling on SQLite and on a private PostgreSQL cluster,
    the cluster's own CPU per request measured, and casegate's tokens against SQLite's (one
    run for both engines: each start of the servers costs seconds)."""
    assert shutil.which("wrk"), "the smoke run needs wrk: scripts/test installs it (apt: wrk)"
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke",
                           "--engines", "sqlite,postgresql", "--duration", "1", "--out",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "results.json").read_text())
    rows = result["rows"]
    seen = {(r["target"], r["workload"], r["db"]) for r in rows}
    assert seen == {(t, w, db) for t in ("casegate", "bare") for w in ("token", "cases")
                    for db in ("sqlite", "postgresql")}
    for row in rows:
        assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["ok_rps"] > 0 and row["p99_ms"] > 0 and row["cpu_ms_per_req"] > 0, row
        assert row["peak_rss_mb"] > 0, row
        if row["db"] == "postgresql" and (row["target"], row["workload"]) == ("bare", "token"):
            assert row["db_cpu_ms_per_req"] >= 0, row  # the bare signer reads no database
        elif row["db"] == "postgresql":
            assert row["db_cpu_ms_per_req"] > 0, row  # the cluster did work for every one
        else:
            assert "db_cpu_ms_per_req" not in row, row
    ratios = {r["db"]: r for r in result["ratios"]}
    assert set(ratios) == {"sqlite", "postgresql"}
    pg_token = next(r for r in rows if (r["target"], r["workload"], r["db"])
                    == ("casegate", "token", "postgresql"))
    sqlite_token = next(r for r in rows if (r["target"], r["workload"], r["db"])
                        == ("casegate", "token", "sqlite"))
    assert ratios["postgresql"]["tokens_vs_sqlite"] == round(
        pg_token["ok_rps"] / sqlite_token["ok_rps"], 3)
    table = (out / "results.md").read_text()
    assert "| compare | bare | cases | postgresql |" in table
    assert "| compare | casegate | token |" in table
    assert "python:" in table and "sqlite:" in table
    assert result["summary"].startswith("casegate at 8 connections: sqlite: tokens ")
    for said in ("x bare ES256 signer", "x bare verify+insert", "x SQLite's"):
        assert said in result["summary"]
