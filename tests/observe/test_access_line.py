"""The access line written straight to the server's log handler (logs.access) is the line
logging writes for the same record; with any other handler in place the record goes
through logging (where tests and embeddings capture it)."""

import io
import json
import logging
from collections.abc import Iterator

import pytest

from casegate import logs, observe

ACCESS = logging.getLogger("casegate.access")


@pytest.fixture
def server_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("casegate").level)
    request = observe._current.set(None)  # the request fields these tests begin end with them
    try:
        yield
    finally:
        observe._current.reset(request)
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("casegate").setLevel(saved[2])


def configured(log_format: str) -> io.StringIO:
    logs.configure(log_format)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logs.BufferedStream)
    handler.setStream(stream)
    return stream


def written(stream: io.StringIO) -> list[str]:
    logging.getLogger().handlers[0].flush()
    lines = stream.getvalue().splitlines()
    stream.seek(0)
    stream.truncate()
    return lines


def through_logging(method: str, route: str, status: int, ms: float) -> None:
    ACCESS.info("%s %s %d", method, route, status, extra={
        "method": method, "route": route, "status": status, "duration_ms": ms})


@pytest.mark.usefixtures("server_logging")
def test_json_access_line_is_the_records_line() -> None:
    stream = configured("json")
    observe.begin("req-1")
    observe.note(client_id="c-1", operator="op@x")
    made = []
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *a, **k: made.append(a) or factory(*a, **k))
    try:
        logs.access(ACCESS, "POST", "/prweb/token", 200, 1.25)
        assert made == []  # straight to the handler, no record
        through_logging("POST", "/prweb/token", 200, 1.25)
    finally:
        logging.setLogRecordFactory(factory)
    direct, record = (json.loads(line) for line in written(stream))
    assert direct.pop("time").endswith("Z") and record.pop("time").endswith("Z")
    assert direct == record == {
        "level": "info", "logger": "casegate.access", "message": "POST /prweb/token 200",
        "request_id": "req-1", "client_id": "c-1", "operator": "op@x", "method": "POST",
        "route": "/prweb/token", "status": 200, "duration_ms": 1.25}
    assert list(direct) == list(record)  # the same order of fields


@pytest.mark.usefixtures("server_logging")
def test_text_access_line_is_the_records_line() -> None:
    stream = configured("text")
    observe.begin("req-2")
    logs.access(ACCESS, "GET", "unmatched", 404, 0.5)
    through_logging("GET", "unmatched", 404, 0.5)
    direct, record = written(stream)
    # the time (to the millisecond) differs; the rest is the same text
    assert direct.split(" ", 1)[1] == record.split(" ", 1)[1] == (
        "INFO    casegate.access: GET unmatched 404 request_id=req-2 method=GET "
        "route=unmatched status=404 duration_ms=0.5")


@pytest.mark.usefixtures("server_logging")
def test_with_another_handler_the_record_goes_through_logging(
        caplog: pytest.LogCaptureFixture) -> None:
    stream = configured("text")
    logging.getLogger().addHandler(caplog.handler)  # a second handler beside the server's
    logs.access(ACCESS, "POST", "/prweb/token", 401, 2.0)
    assert [(r.getMessage(), r.__dict__["status"]) for r in caplog.records] == [
        ("POST /prweb/token 401", 401)]
    assert len(written(stream)) == 1  # and the server's handler still writes it


@pytest.mark.usefixtures("server_logging")
def test_nothing_below_the_loggers_level() -> None:
    stream = configured("text")
    logging.getLogger("casegate").setLevel(logging.WARNING)
    logs.access(ACCESS, "POST", "/prweb/token", 200, 1.0)
    assert written(stream) == []


@pytest.mark.usefixtures("server_logging")
@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("noted", [
    {},
    {"client_id": "c-1", "operator": "op@x"},
    {"client_id": "c-1", "operator": None},  # a client without an operator
    {"operator": "", "client_id": "c é 1"},  # empty, and noted in another order
    {"route": "/noted"},  # a field the access line names itself: as logging merges it
])
def test_access_line_is_the_records_line_whatever_the_request_noted(
        log_format: str, noted: dict[str, str]) -> None:
    stream = configured(log_format)
    observe.begin("req-3")
    observe.note(**noted)
    logs.access(ACCESS, "POST", "/prweb/token", 401, 0.25)
    through_logging("POST", "/prweb/token", 401, 0.25)
    direct, record = written(stream)
    if log_format == "json":
        assert json.loads(direct).pop("time") and json.loads(record).pop("time")
        assert direct.split('"level"', 1)[1] == record.split('"level"', 1)[1]
    else:
        assert direct.split(" ", 1)[1] == record.split(" ", 1)[1]
    assert "request_id" in direct and "duration_ms" in direct
