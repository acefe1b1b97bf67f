"""The database stops taking writes under a bounded load, then recovers, with casegate served
for real (HTTPS subprocess): SQLite on a small filesystem the test fills up (a size-capped
tmpfs it mounts), PostgreSQL by stopping the test's own cluster and starting it again.

Checked: /readyz says 503, and why, within a second; the API answers 503 with Retry-After
(the Pega envelope) and the token endpoint RFC 6749-shaped JSON, never a 500; nothing
acknowledged is lost; every audit event arrives after recovery; recovery needs no restart;
the log has one line per failed request and few tracebacks."""

import contextlib
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from casegate.storage.models import AuditEvent
from faults.load import Tally, assert_nothing_lost, loaded, readiness, until
from fixtures.postgres import PostgresServer
from fixtures.served import Served


@dataclass
class Fault:
    served: Served
    begin: Callable[[], None]
    end: Callable[[], None]
    database_url: str


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    """A tmpfs of 24 MiB mounted at `path` (the test runs as root, as scripts/test does)."""
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(path)],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem is full."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 65536)
    with contextlib.suppress(OSError):
        (disk / "filler2").write_bytes(b"\0" * 4096)  # the last partial block
    return filler


@pytest.fixture
def fault(backend: str, tmp_path: Path) -> Iterator[Fault]:
    if backend == "sqlite":
        with small_disk(tmp_path / "disk") as disk:
            home = disk / "home"
            url = f"sqlite:///{home / 'casegate.db'}"
            served = Served(home, url)
            served.log = tmp_path / "serve.log"  # off the disk that fills up
            served.start()

            def full() -> None:
                fill(disk)

            def empty() -> None:
                for name in ("filler", "filler2"):
                    (disk / name).unlink(missing_ok=True)

            try:
                yield Fault(served, full, empty, url)
            finally:
                served.stop()
        return
    cluster = PostgresServer()
    cluster.start()
    try:
        url = cluster.create_database(f"outage_{uuid.uuid4().hex[:8]}")
        served = Served(tmp_path / "home", url).start()
        try:
            yield Fault(served, cluster.interrupt, cluster.resume, url)
        finally:
            served.stop()
    finally:
        cluster.stop()


def test_an_outage_is_503_loses_nothing_and_heals_itself(fault: Fault) -> None:
    served = fault.served
    with loaded(served) as tally:
        until(lambda: len(tally.created) >= 5, 30)
        assert readiness(served).status_code == 200
        before_fault = len(tally.statuses)

        fault.begin()
        took = until(lambda: readiness(served).status_code == 503, 5)
        assert took <= 1.0, f"readiness took {took:.2f} s to notice"
        reason = readiness(served).json()
        assert reason["status"] == "not ready" and reason["reason"], reason
        until(lambda: len(tally.unavailable) >= 5, 30)
        assert len(tally.statuses) > before_fault

        fault.end()
        until(lambda: readiness(served).status_code == 200, 30)  # no restart
        recovered = len(tally.created)
        until(lambda: len(tally.created) >= recovered + 5, 30)

    assert 500 not in tally.statuses
    for answer in tally.unavailable:
        assert answer.headers["retry-after"].isdigit()
        body = answer.json()
        if answer.request.url.path.startswith("/prweb/api/"):
            assert body["errors"][0]["ID"] == "Pega_API_ServiceUnavailable", body
        else:
            assert body["error"] == "temporarily_unavailable", body
    assert_nothing_lost(served, tally)
    assert_audit_complete(fault.database_url, tally)
    assert_log_readable(served, tally)


def assert_audit_complete(database_url: str, tally: Tally) -> None:
    engine = create_engine(database_url)
    try:
        def issued() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.event == "token.issued")) or 0)
        # the writer retries with backoff (at most 30 s between tries)
        until(lambda: issued() >= len(tally.tokens), 45)
    finally:
        engine.dispose()


def assert_log_readable(served: Served, tally: Tally) -> None:
    text = served.log.read_text()
    # a line is "<time> <level> <logger>: POST /path failed: …" in the text log format
    failed = [m.group(1) for m in re.finditer(r"^(?:.*?: )?([A-Z]+ /\S*) failed: ", text, re.M)]
    # one line per request that failed (readiness probes answer without logging)
    seen = [f"{r.request.method} {r.request.url.path}" for r in tally.unavailable]
    assert sorted(failed) == sorted(seen), text[-3000:]
    # a given failure's traceback at most once a minute (the test lasts less than one)
    traced = re.findall(r"^(?:.*?: )?[A-Z]+ /\S* failed: (.*) \(traceback below", text, re.M)
    assert len(traced) == len(set(traced)), traced
    # (a traceback shows the exceptions chained to it: a driver's error and SQLAlchemy's)
    assert text.count("Traceback (most recent call last)") <= 3 * len(traced)
    assert len(traced) < len(failed) / 2, traced  # far fewer than the failed requests
    assert "lost" not in text
