"""Tokens asking scope=cases on SQLite, with GROUPS extra access groups: main (git archive main src | tar -x -C /tmp/before) against a tree, run after run.
usage (from the repository): uv run python bench/results/scope-2026-11-30/tools/scopebench.py GROUPS OUT [SRC]"""
import json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, os.getcwd() + "/bench")
from run import Casegate, Load, Options, free_port, running, measure, TOKEN_PATH, basic, connect
groups = int(sys.argv[1]); out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
trees = {"before": "/tmp/before/src", "after": sys.argv[3] if len(sys.argv) > 3 else "src"}
opts = Options(duration=10, warmup=2, conns=[32], workers=2, out=out, smoke=False)
(out / "raw").mkdir(exist_ok=True)
rows = []
for rnd in (1, 2, 3):
    for name, src in trees.items():
        os.environ["PYTHONPATH"] = src
        home = Path(tempfile.mkdtemp(prefix=f"sc-{name}-"))
        cg = Casegate(home / "home", ""); cg.init()
        db = next((home / "home").rglob("*.sqlite3"), None) or next((home / "home").rglob("*.db"))
        conn = connect(f"sqlite:///{db}")
        conn.executemany("INSERT INTO access_groups (name, roles, scopes, created_at) VALUES (?, ?, ?, ?)",
                         [(f"g{i}", "[]", json.dumps(["cases", "casetypes", f"s{i}a", f"s{i}b"]), time.time()) for i in range(groups)])
        conn.close()
        server = cg.server(free_port(), 2)
        with running(server, home):
            load = Load("token", f"http://127.0.0.1:{server.port}" + TOKEN_PATH,
                        {"BASIC_AUTH": basic(cg.client_id, cg.client_secret), "BODY": "grant_type=client_credentials&scope=cases"})
            measure(server, load, 32, opts, {"target": name, "round": rnd}, rows)
for r in rows: print(r["target"], r["round"], r["rps"], r["p99_ms"], r["cpu_ms_per_req"], r["errors"])
