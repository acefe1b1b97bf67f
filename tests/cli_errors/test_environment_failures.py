"""A busy port or a database that cannot be used is one clear line, never a traceback."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casegate import metrics
from casegate.settings import Settings
from fixtures.served import Served, cli, free_port


def user_env(**casegate: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEGATE_")}
    return env | {f"CASEGATE_{k.upper()}": v for k, v in casegate.items()}


def assert_one_clean_line(stderr: str, *phrases: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line.startswith("casegate:")]
    assert lines, stderr
    for phrase in phrases:
        assert phrase in lines[-1], lines[-1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_on_a_busy_port_says_so(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli(user_env(home=str(settings.home), database_url=settings.db_url),
                     "serve", "--port", str(port), check=False)
    assert result.returncode != 0
    assert_one_clean_line(result.stderr, f"cannot listen on 127.0.0.1:{port}", "in use")


def test_unreachable_postgresql_says_so_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://casegate:s3cret-pw@127.0.0.1:{free_port()}/casegate"
    result = cli(user_env(home=str(tmp_path), database_url=url), "init", check=False)
    assert result.returncode != 0
    assert_one_clean_line(result.stderr, "cannot use the database", "refused")
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_database_url_that_is_no_url_says_what_one_looks_like(tmp_path: Path) -> None:
    result = cli(user_env(home=str(tmp_path), database_url="mysql-ish://x"), "client", "list",
                 check=False)
    assert result.returncode != 0
    assert_one_clean_line(result.stderr, "CASEGATE_DATABASE_URL", "postgresql+psycopg://")



def test_a_second_server_of_several_processes_on_a_port_in_use_says_so(
        tmp_path: Path) -> None:
    """The kernel lets SO_REUSEPORT sockets of one user share a port: without a check, a
    second `serve --workers 2` (of this home or another) would take half the connections
    of the first, and empty the counts of the first's scrapes."""
    first = Served(tmp_path / "first", f"sqlite:///{tmp_path / 'first.db'}", workers=2)
    first.start()
    try:
        counts = metrics.multiprocess_dir(first.home, first.port)
        deadline = time.monotonic() + 30  # a worker's files appear once it has counted
        while not (before := sorted(counts.glob("*.db"))):  # a request (after its answer)
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.Popen(
            [sys.executable, "-m", "casegate", "serve", "--port", str(first.port),
             "--workers", "2"], env=first.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _, stderr = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # it serves beside the first: the failure shown
            os.killpg(second.pid, signal.SIGTERM)
            second.communicate(timeout=15)
            raise AssertionError("a second server started on the first's port") from None
        assert second.returncode != 0
        assert_one_clean_line(stderr, f"cannot listen on 127.0.0.1:{first.port}", "in use")
        assert before and all(kept.exists() for kept in before)  # the first's counts
        with first.client() as http:
            assert http.get("/healthz").status_code == 200
    finally:
        first.stop()
