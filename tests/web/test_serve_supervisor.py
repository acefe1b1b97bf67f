"""`serve`'s Supervisor: a worker that dies stops counting in the shared metrics and in the
workers' connection counts."""

import multiprocessing
import os
import re
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from casegate import metrics
from casegate.storage.db import make_engine
from casegate.web.serve import Supervisor

IN_USE = re.compile(rb"^casegate_db_connections_in_use (\S+)$", re.M)


def hold_a_connection_and_die(database: str) -> None:
    """A worker that dies (as from kill -9) with a database connection checked out."""
    # a fork inherits what earlier tests in this process set up before the shared folder
    # existed: start as a fresh worker does, recording into the folder
    from prometheus_client import REGISTRY, values

    values.ValueClass = values.get_value_class()
    for metric in metrics._metrics.values():
        REGISTRY.unregister(metric)
    metrics._metrics.clear()
    metrics.enable()
    engine = make_engine(f"sqlite:///{database}")
    metrics.watch_engine(engine)
    held = engine.connect()
    assert not held.closed
    os._exit(1)


def connections_in_use() -> float:
    found = IN_USE.search(metrics.exposition()[0])
    return float(found.group(1)) if found else 0.0


def test_a_dead_workers_gauges_stop_counting(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # set through monkeypatch first, so that its undo removes the variable again:
    # prepare_multiprocess_dir sets it for good, and a server started by a later test of
    # this process would count into this test's folder
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path / "metrics"))
    metrics.prepare_multiprocess_dir(tmp_path / "metrics")
    context = multiprocessing.get_context("fork")
    started: list[BaseProcess] = []
    said: list[str] = []

    def start(index: int) -> BaseProcess:
        assert index == 0
        target = hold_a_connection_and_die if not started else time.sleep
        worker = context.Process(target=target, args=(str(tmp_path / "db.sqlite3"),)
                                 if not started else (2,))
        worker.start()
        started.append(worker)
        return worker

    gone: list[int] = []
    supervisor = Supervisor(start, 1, said.append, gone.append)
    started[0].join(30)
    assert connections_in_use() == 1  # the dead worker's connection, until it is noticed
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
        assert said and f"worker {started[0].pid} exited" in said[0]
        assert connections_in_use() == 0
        assert gone == [0]  # its slot in the connection counts is freed (web/balance.py)
    finally:
        supervisor.stop()
        thread.join(30)
