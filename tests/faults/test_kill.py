"""kill -9 of the whole server (every worker) under a bounded load, then `casegate serve`
again: every case and revocation it acknowledged is there (DESIGN: committed before it is
acknowledged), on both databases."""

import threading
import time
from pathlib import Path

from faults.load import WORKERS, Tally, assert_nothing_lost, load, until
from fixtures.served import Served


def test_kill_9_under_load_loses_nothing_acknowledged(database_url: str, tmp_path: Path) -> None:
    served = Served(tmp_path / "home", database_url, workers=2).start()
    try:
        tally = Tally()
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(served, tally, stop))
                   for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        try:
            until(lambda: len(tally.created) >= 20 and len(tally.revoked) >= 3, 60)
            served.kill()  # mid-load: requests are in flight
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert tally.created and tally.revoked
        served.serve()
        assert_nothing_lost(served, tally)
    finally:
        served.stop()
