"""`casegate serve --workers N` starts a worker again when one dies: kill -9 of one worker
under a bounded load, and the server keeps answering, with N workers again."""

import os
import signal
from pathlib import Path

import pytest

from faults.load import loaded, until
from fixtures.served import Served


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_killed_worker_is_started_again(database_url: str, tmp_path: Path) -> None:
    served = Served(tmp_path / "home", database_url, workers=2).start()
    try:
        before = served.worker_pids()
        assert len(before) == 2
        with loaded(served) as tally:
            until(lambda: len(tally.created) >= 5, 60)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            answered = len(tally.statuses)
            # the other worker keeps answering while the killed one is replaced
            until(lambda: len(tally.statuses) >= answered + 20, 30)
            until(lambda: len(served.worker_pids()) == 2 and victim not in served.worker_pids(), 30)
            after = len(tally.created)
            until(lambda: len(tally.created) >= after + 5, 30)
        assert 500 not in tally.statuses
        assert f"worker {victim} exited" in served.log.read_text()
    finally:
        served.stop()
