"""WAL checkpoints of an SQLite database, off the commits that answer requests.

SQLite's own checkpoint (wal_autocheckpoint) runs inside whichever commit makes the WAL pass
1000 pages: that commit then copies the WAL into the database file and fsyncs it before it
returns, and the requests it answers (with every writer waiting on the write lock behind it)
wait for that. Here connections never checkpoint on commit; each process has one thread that,
after commits, runs a PASSIVE checkpoint at most every INTERVAL seconds: it copies what is
committed into the database file without taking the write lock, so writers go on meanwhile.

SQLite starts the WAL again from its beginning only at a write that began after a checkpoint
copied all of it; under a steady load a write is nearly always under way, and the WAL would
grow without end. So once it holds more than LIMIT_FRAMES pages, the thread takes the
writers' lock file (storage/group_commit.py) for a second checkpoint: with no casegate write
under way it copies the little committed since the first one, and the next writer starts the
WAL again. A commit is durable once it is in the WAL (fsynced there, synchronous=FULL); a
checkpoint only copies it on, so none of this changes what a kill -9 or a power cut can lose.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

log = logging.getLogger("casegate.storage")

INTERVAL = 0.5  # seconds between checkpoints while commits go on
LIMIT_FRAMES = 4000  # pages (16 MB); a WAL holding more starts again, the writers paused
IDLE_SECONDS = 30.0  # the thread ends when no commit came this long; the next commit starts one


class Checkpointer:
    """The checkpoints of one SQLite file for one process: call committed() after commits."""

    def __init__(self, path: Path, writers_lock: AbstractContextManager[Any] | None = None
                 ) -> None:
        self.path = path
        self._writers_lock = writers_lock or nullcontext()
        self._due = threading.Event()
        self._guard = threading.Lock()  # guards _thread
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        self._due.set()
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-checkpoint",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            if not self._due.wait(IDLE_SECONDS):
                with self._guard:
                    if not self._due.is_set():  # a commit now finds no thread and starts one
                        self._thread = None
                        return
            self._due.clear()
            try:
                self.checkpoint()
            except Exception:  # the next commit tries again; SQLite checkpoints at close too
                log.warning("WAL checkpoint of %s failed", self.path, exc_info=True)
            time.sleep(INTERVAL)  # commits meanwhile set _due: one checkpoint covers them

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint; then, if the WAL holds more than LIMIT_FRAMES, another
        with the writers paused."""
        # mode=rw: a database that is gone is not made again, empty
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=5,
                               isolation_level=None)
        try:
            # (busy, frames in the WAL, frames copied); busy: another process checkpoints
            busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy and frames > LIMIT_FRAMES:
                # the lock file keeps casegate's writers out (they wait on it, not in SQLite's
                # busy handler): with no write under way, this copies the little committed
                # since the first one, all of the WAL, and the next writer starts it again
                # from its beginning
                with self._writers_lock:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
