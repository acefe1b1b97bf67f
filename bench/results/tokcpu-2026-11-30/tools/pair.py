"""pair.py SRC_A SRC_B ROUNDS SECS: two casegates served at once (2 workers each, fresh homes
on SQLite), loaded at once by two `wrk -t1 -c32` token loads; CPU per token of each server's
process group (user + system, /proc), B/A per round and the median. Which one starts first
alternates by round. SRC is a src/ folder put first on PYTHONPATH, or - for the installed
casegate. Both servers meet the same load from the rest of the machine at the same time,
which sequential A/B runs on a shared machine do not.

  git archive COMMIT src | tar -x -C /tmp/before
  uv run python bench/results/tokcpu-2026-11-30/tools/pair.py /tmp/before/src - 4 8
"""
import json, os, subprocess, sys, time, base64, socket, tempfile, signal, statistics
from pathlib import Path
py = sys.executable
WRK = Path(__file__).resolve().parents[3] / "wrk"
def serve(src):
    env = dict(os.environ); env.pop("PYTHONPATH", None)
    if src != "-": env["PYTHONPATH"] = src
    home = tempfile.mkdtemp(prefix="pair-"); env["CASEGATE_HOME"] = home
    demo = json.loads(subprocess.run([py, "-m", "casegate", "init", "--demo", "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    p = subprocess.Popen([py, "-m", "casegate", "serve", "--http", "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    auth = base64.b64encode(f"{demo['client_id']}:{demo['client_secret']}".encode()).decode()
    return p, port, auth
def cpu(p):
    tick = os.sysconf("SC_CLK_TCK"); t = 0
    for pid in subprocess.run(["pgrep", "-s", str(p.pid)], capture_output=True, text=True).stdout.split():
        try:
            f = open(f"/proc/{pid}/stat").read(); f = f[f.rindex(")")+2:].split()
            t += int(f[11]) + int(f[12])
        except FileNotFoundError: pass
    return t / tick
def wrk(port, auth, secs):
    env = {**os.environ, "BASIC_AUTH": auth, "WRK_DIR": str(WRK), "BODY": "grant_type=client_credentials"}
    return subprocess.Popen(["wrk", "-t1", "-c32", f"-d{secs}s", "-s", str(WRK / "token.lua"), f"http://127.0.0.1:{port}/prweb/PRRestService/oauth2/v1/token"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
srcs = sys.argv[1:3]; rounds = int(sys.argv[3]); secs = int(sys.argv[4])
ratios = []; rows = []
for r in range(rounds):
    order = srcs if r % 2 == 0 else srcs[::-1]
    servers = {src: serve(src) for src in order}
    try:
        import urllib.request
        for src, (p, port, auth) in servers.items():
            for _ in range(120):
                try:
                    req = urllib.request.Request(f"http://127.0.0.1:{port}/prweb/PRRestService/oauth2/v1/token", data=b"grant_type=client_credentials", headers={"Authorization": "Basic " + auth, "Content-Type": "application/x-www-form-urlencoded"})
                    if urllib.request.urlopen(req, timeout=2).status == 200: break
                except Exception: time.sleep(0.5)
        time.sleep(3)
        for src, (p, port, auth) in servers.items(): wrk(port, auth, 3).wait()
        time.sleep(1)
        before = {src: cpu(s[0]) for src, s in servers.items()}
        runs = {src: wrk(s[1], s[2], secs) for src, s in servers.items()}
        out = {src: w.communicate()[0] for src, w in runs.items()}
        after = {src: cpu(s[0]) for src, s in servers.items()}
        res = {}
        for src in srcs:
            j = json.loads(out[src].split("JSON ", 1)[1].splitlines()[0])
            res[src] = (after[src] - before[src]) * 1000 / j["requests"], j["rps"], j["p99_ms"]
    finally:
        for src, (p, _, _) in servers.items(): os.killpg(p.pid, signal.SIGTERM); p.wait()
    ratio = res[srcs[1]][0] / res[srcs[0]][0]; ratios.append(ratio)
    print(f"round {r+1}: A {res[srcs[0]][0]:.3f} ms/token {res[srcs[0]][1]:.0f}/s p99 {res[srcs[0]][2]:.1f} | B {res[srcs[1]][0]:.3f} ms/token {res[srcs[1]][1]:.0f}/s p99 {res[srcs[1]][2]:.1f} | B/A CPU {ratio:.3f}", flush=True)
print(f"median B/A CPU per token {statistics.median(ratios):.3f}")
