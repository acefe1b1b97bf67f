"""Start casegate (from a src/ folder or the installed one) or the bare signer, warm up with wrk,
run load.py for SECONDS, ask the workers for their event lists (SIGUSR1), stop.
usage: drive.py NAME SRC(or -) SECONDS [instrument] [bare] [wrk]; output in $TL_DIR/NAME
(default /tmp/token-tail/NAME): client.json, client.json.ports, server-PID.json"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))
from bench.run import Casegate, bare_server, bare_loads, free_port, running, wrk, Options, basic, TOKEN_PATH

name, src, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
flags = set(sys.argv[4:])
out = Path(os.environ.get("TL_DIR", "/tmp/token-tail")) / name
out.mkdir(parents=True, exist_ok=True)
for f in out.glob("*.json"):
    f.unlink()
work = Path(tempfile.mkdtemp(prefix="tl-"))
pp = []
if "instrument" in flags:
    pp.append(str(HERE))  # its sitecustomize.py instruments the workers
    os.environ["TL_OUT"] = str(out)
if src != "-":
    pp.append(src)
if pp:
    os.environ["PYTHONPATH"] = ":".join(pp)
port = free_port()
if "bare" in flags:
    server = bare_server(port, 2, work)
else:
    cg = Casegate(work / "home", "")
    cg.init()
    server = cg.server(port, 2)
with running(server, work):
    if "bare" in flags:
        load = bare_loads(port)["token"]
        path = "/token-es256"
    else:
        load = cg.loads(port)["token"]
        path = TOKEN_PATH
    wrk(load, 32, 2, None)
    print("warmup done", time.monotonic(), flush=True)
    server.wait_idle()
    if "wrk" in flags:
        r = wrk(load, 32, seconds, None)
        print("wrk", json.dumps(r))
    cpu0 = open(f"/proc/{server.pgid}/stat").read()
    from bench.run import group_cpu
    c0 = group_cpu(server.pgid)
    import resource
    def busy():
        f = open("/proc/stat").readline().split()[1:]
        v = list(map(int, f))
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    b0 = busy(); ru0 = resource.getrusage(resource.RUSAGE_CHILDREN); w0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(HERE / "load.py"), "127.0.0.1", str(port), path, str(seconds), "32",
                           str(out / "client.json"), "Content-Type=application/x-www-form-urlencoded",
                           f"Authorization=Basic {load.env['BASIC_AUTH']}", "body=grant_type=client_credentials"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(min(3, seconds / 2))
    o, e = proc.communicate()
    class done: stdout, stderr = o, e
    c1 = group_cpu(server.pgid)
    b1 = busy(); ru1 = resource.getrusage(resource.RUSAGE_CHILDREN); w1 = time.monotonic()
    client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    other = (b1 - b0) - (c1 - c0) - client
    print("cores: server %.2f client %.2f other %.2f" % ((c1 - c0) / (w1 - w0), client / (w1 - w0), other / (w1 - w0)))
    print(done.stdout, done.stderr[-2000:])
    r = json.loads(done.stdout.splitlines()[-1])
    import signal
    kids = subprocess.run(["pgrep", "-g", str(server.pgid)], capture_output=True, text=True).stdout.split()
    for k in kids:
        if int(k) != server.pgid and b"resource_tracker" not in open(f"/proc/{k}/cmdline", "rb").read():
            try: os.kill(int(k), signal.SIGUSR1)
            except ProcessLookupError: pass
    time.sleep(1)
    print("cpu ms/req %.3f" % (1000 * (c1 - c0) / r["n"]))
    # connections per worker

