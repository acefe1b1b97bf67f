"""The log is written in batches, never losing or reordering a line: a warning at once with
what waits before it, the rest within the interval, and everything when the process ends."""

import io
import logging
import subprocess
import sys
import time

from casegate.logs import BufferedStream, TextFormatter


def handler(stream: io.StringIO, interval: float = 60.0) -> tuple[logging.Logger, BufferedStream]:
    buffered = BufferedStream(stream, interval=interval)
    buffered.setFormatter(TextFormatter())
    log = logging.Logger("casegate.test")  # not registered: no other handler sees it
    log.addHandler(buffered)
    return log, buffered


def test_info_waits_and_a_warning_writes_all_in_order() -> None:
    stream = io.StringIO()
    log, _ = handler(stream)
    log.info("first")
    log.info("second")
    assert stream.getvalue() == ""  # waiting for the interval
    log.warning("third")
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["first", "second", "third"]
    assert "WARNING" in lines[2]


def test_lines_are_written_within_the_interval() -> None:
    stream = io.StringIO()
    log, _ = handler(stream, interval=0.05)
    log.info("soon")
    deadline = time.monotonic() + 5
    while "soon" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream.getvalue().endswith("casegate.test: soon\n")


def test_a_full_buffer_is_written_without_waiting() -> None:
    stream = io.StringIO()
    log, buffered = handler(stream)
    for n in range(buffered.most):
        log.info("line %d", n)
    assert len(stream.getvalue().splitlines()) == buffered.most


def test_every_line_is_written_when_the_process_ends() -> None:
    # logging.shutdown (atexit) flushes what the buffer holds, as `serve` exits
    script = ("import logging; from casegate import logs; logs.configure('text'); "
              "log = logging.getLogger('casegate.access'); "
              "[log.info('line %d', n) for n in range(300)]")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    lines = done.stderr.splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == [str(n) for n in range(300)]
