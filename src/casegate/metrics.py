"""Prometheus metrics, added up across a server's worker processes.

`serve` points PROMETHEUS_MULTIPROC_DIR at a folder of its own (emptied at start) before any
worker starts, so every worker writes its counts there and a scrape of any one of them reads
all (prometheus_client's multiprocess mode). Without that variable (an app in a test, an
embedding) the counts are this process's.

Recording is a no-op until `enable()`: a CLI command records nothing and never imports
prometheus_client.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from bisect import bisect_left
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# seconds: the token endpoint answers in about a millisecond, the pages in tens
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# audit events that revoke something, counted as revocations by kind
REVOCATIONS = {"token.revoked": "token", "client.tokens_revoked": "client",
               "grant.revoked": "grant", "consent.withdrawn": "consent"}

_metrics: dict[str, Any] = {}
# each metric's child per label values: prometheus_client's labels() checks and looks them
# up under a lock on every call (a few % of a token's CPU, profiled)
_children: dict[tuple[str, tuple[str, ...]], Any] = {}


def _child(name: str, *labels: str) -> Any:
    key = (name, labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = _metrics[name].labels(*labels)
    return child


def _count(name: str, *labels: str) -> None:
    """One more in a counter's child: the value Counter.inc() adds to, without its checks of
    the amount and labels (made on every call)."""
    _child(name, *labels)._value.inc(1)


# per (method, route, status): the values a request's count and latency add to, as
# Counter.inc and Histogram.observe write them (the count; the sum and the first bucket
# whose bound the latency does not exceed), without those calls' checks: 0.7x the CPU of
# counting a request through them (measured)
_request_values: dict[tuple[str, str, int], tuple[Any, Any, list[Any], list[float]]] = {}


def _requests(method: str, route: str, status: int) -> tuple[Any, Any, list[Any], list[float]]:
    key = (method, route, status)
    found = _request_values.get(key)
    if found is None:
        count, latency = _child("requests", method, route, str(status)), _child(
            "latency", method, route)
        found = _request_values[key] = (count._value, latency._sum, latency._buckets,
                                        latency._upper_bounds)
    return found


def multiprocess_dir(home: Path, port: int) -> Path:
    """Where one server's workers keep their counts: shared memory (or the temp folder), not
    the data folder, as the counts are memory-mapped files: on a full database disk, growing
    one would kill the worker (SIGBUS) where the database alone answers 503."""
    # a shared folder: prepare_multiprocess_dir refuses one another user made first
    shm = Path("/dev/shm")  # noqa: S108
    base = shm if os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    tag = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return base / f"casegate-metrics-{tag}-port-{port}"


def prepare_multiprocess_dir(path: Path) -> Path:
    """For `serve`, before its workers start: an empty folder all of them write to."""
    chosen = Path(os.environ.get(MULTIPROC_ENV) or path)
    chosen.mkdir(parents=True, mode=0o700, exist_ok=True)
    if chosen.is_symlink() or chosen.stat().st_uid != os.getuid():
        raise RuntimeError(f"{chosen} belongs to another user: set {MULTIPROC_ENV}")
    _remove_counts(chosen)  # a previous run's, left by a kill -9
    os.environ[MULTIPROC_ENV] = str(chosen)
    return chosen


def release_multiprocess_dir(chosen: Path, made_for: Path) -> None:
    """For `serve`, once its workers are gone: their counts go, and the folder too when it is
    casegate's own (memory in /dev/shm; a server per test or per port would otherwise leave
    one behind at each stop)."""
    _remove_counts(chosen)
    if chosen == made_for:
        with contextlib.suppress(OSError):  # not empty: a file that is not casegate's
            chosen.rmdir()


def _remove_counts(folder: Path) -> None:
    for counts in folder.glob("*.db"):  # only prometheus_client's files
        counts.unlink(missing_ok=True)


def process_dead(pid: int) -> None:
    """For `serve`, when a worker died: its live gauges (connections in use) stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# this process's ID, for prometheus_client's multiprocess files: it asked the kernel on every
# count (a getpid system call each, four a token); refreshed in a forked child
_pid = os.getpid()


def _process_id() -> int:
    return _pid


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def enable() -> None:
    if _metrics:
        return
    from prometheus_client import Counter, Gauge, Histogram, values

    if os.environ.get(MULTIPROC_ENV):  # before the first metric is made
        values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
            process_identifier=_process_id)

    _metrics.update(
        issued=Counter("casegate_tokens_issued", "Access tokens issued.",
                       ["grant_type", "client_id"]),
        refused=Counter("casegate_tokens_refused", "Token requests refused.",
                        ["grant_type", "client_id", "error"]),
        revocations=Counter("casegate_revocations", "Revocations, by what was revoked.",
                            ["kind"]),
        throttled=Counter("casegate_throttle_hits", "Requests refused by a throttle (429).",
                          ["throttle"]),
        requests=Counter("casegate_http_requests", "HTTP requests answered.",
                         ["method", "route", "status"]),
        latency=Histogram("casegate_http_request_duration_seconds", "HTTP request latency.",
                          ["method", "route"], buckets=BUCKETS),
        pool=Gauge("casegate_db_connections_in_use", "Database connections checked out.",
                   multiprocess_mode="livesum"),
        db_errors=Counter("casegate_db_errors", "Database errors."),
    )


def audited(event_name: str, subject: str, outcome: str, detail: dict[str, Any]) -> None:
    """Every audited event passes here: tokens issued and refused, revocations, throttles."""
    if not _metrics:
        return
    grant = str(detail.get("grant_type") or "")
    if event_name == "token.issued":
        _count("issued", grant, subject)
    elif event_name == "token.refused":
        error = str(detail.get("error") or "")
        # an unauthenticated caller's claimed ID is anyone's to make up: not a label
        client = "" if error == "invalid_client" else subject
        _count("refused", grant, client, error)
    elif event_name in REVOCATIONS and outcome == "ok":
        _count("revocations", REVOCATIONS[event_name])
    elif event_name == "signin.throttled":
        _count("throttled", "signin")


def throttled(name: str) -> None:
    if _metrics:
        _count("throttled", name)


def request_done(method: str, route: str, status: int, seconds: float) -> None:
    if _metrics:
        count, total, buckets, bounds = _requests(method, route, status)
        count.inc(1)
        total.inc(seconds)
        buckets[bisect_left(bounds, seconds)].inc(1)


def watch_engine(engine: Engine) -> None:
    """Connections in use and errors, from the pool's and the engine's events."""
    if not _metrics:
        return
    pool, errors = _metrics["pool"], _metrics["db_errors"]
    event.listen(engine, "checkout", lambda *_: pool.inc())
    event.listen(engine, "checkin", lambda *_: pool.dec())
    event.listen(engine, "handle_error", lambda *_: errors.inc())


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: every worker's counts when serve set up the folder."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
