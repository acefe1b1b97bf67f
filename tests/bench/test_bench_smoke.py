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
    assert result["summary"].startswith("casegate at 8 connections: sqlite: tokens ")
    assert "x bare ES256 signer" in result["summary"]
    assert "x bare verify+insert" in result["summary"]
    table = (out / "results.md").read_text()
    assert "| compare | casegate | token |" in table
    assert "python:" in table and "sqlite:" in table


def test_smoke_run_on_postgresql_too(tmp_path: Path) -> None:
    """--engines: casegate and the bare ceiling on a private PostgreSQL cluster as well, the
    cluster's own CPU per request measured, and casegate's tokens against SQLite's."""
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
    assert "| compare | bare | cases | postgresql |" in (out / "results.md").read_text()
    assert "x SQLite's" in result["summary"]
