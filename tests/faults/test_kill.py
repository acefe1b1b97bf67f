"""kill -9 of the whole server (every worker) under a bounded load, then `casegate serve`
again: every case and revocation it acknowledged is there (DESIGN: committed before it is
acknowledged), on both databases."""

import time
from pathlib import Path

from faults.load import assert_nothing_lost, loaded, until
from fixtures.served import Served


def test_kill_9_under_load_loses_nothing_acknowledged(database_url: str, tmp_path: Path) -> None:
    served = Served(tmp_path / "home", database_url, workers=2).start()
    try:
        with loaded(served) as tally:
            until(lambda: len(tally.created) >= 20 and len(tally.revoked) >= 3, 60)
            served.kill()  # mid-load: requests are in flight
            time.sleep(0.5)
        assert tally.created and tally.revoked
        served.serve()
        assert_nothing_lost(served, tally)
    finally:
        served.stop()
