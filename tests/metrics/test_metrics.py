"""/metrics: counts added up across worker processes (tokens issued and refused by grant,
client and error; latency per route template; revocations; database pool; throttle hits),
answered to loopback only, or to the configured bearer token."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from casegate import metrics
from casegate.app import create_app
from casegate.settings import Settings
from fixtures.factories import CASES_PATH, REVOKE_PATH, SEED_BODY, TOKEN_PATH, bearer
from fixtures.served import Served

ISSUED = 24


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series, its labels matched exactly (0 when absent)."""
    for line in text.splitlines():
        found = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if found and dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))) == labels:
            return float(found.group(2))
    return 0.0


@pytest.fixture
def two_workers(tmp_path: Path, database_url: str) -> Iterator[Served]:
    served = Served(tmp_path / "home", database_url, workers=2)
    served.start()
    yield served
    served.stop()


def test_a_scrape_counts_what_both_workers_did(two_workers: Served) -> None:
    demo: dict[str, Any] = two_workers.demo
    client_id, secret = demo["client_id"], demo["client_secret"]
    tokens = []
    for _ in range(ISSUED):  # each on a new connection: the kernel spreads them
        with two_workers.client() as http:
            answer = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                               auth=(client_id, secret))
            assert answer.status_code == 200
            tokens.append(answer.json()["access_token"])
    for _ in range(3):
        with two_workers.client() as http:
            assert http.post(TOKEN_PATH, data={"grant_type": "client_credentials",
                                               "scope": "nope"},
                             auth=(client_id, secret)).status_code == 400
            assert http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                             auth=(client_id, "wrong")).status_code == 401
    with two_workers.client() as http:
        case = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(tokens[0]))
        assert case.status_code == 201
        assert http.post(REVOKE_PATH, data={"token": tokens[0]},
                         auth=(client_id, secret)).status_code == 200

    scrapes = []
    for _ in range(6):  # several scrapes on new connections: whichever worker answers
        with two_workers.client() as http:
            scraped = http.get("/metrics")
            assert scraped.status_code == 200
            scrapes.append(scraped.text)
    for text in scrapes:
        assert sample(text, "casegate_tokens_issued_total", grant_type="client_credentials",
                      client_id=client_id) == ISSUED
        assert sample(text, "casegate_tokens_refused_total", grant_type="client_credentials",
                      client_id=client_id, error="invalid_scope") == 3
        # a failed authentication is not labelled with the ID the caller claimed
        assert sample(text, "casegate_tokens_refused_total", grant_type="client_credentials",
                      client_id="", error="invalid_client") == 3
        assert sample(text, "casegate_revocations_total", kind="token") == 1
        assert sample(text, "casegate_http_request_duration_seconds_count", method="POST",
                      route=TOKEN_PATH) == ISSUED + 6
        assert sample(text, "casegate_http_requests_total", method="POST", route=CASES_PATH,
                      status="201") == 1
        assert "casegate_db_connections_in_use" in text
    files = list(metrics.multiprocess_dir(two_workers.home, two_workers.port).glob("*.db"))
    pids = {re.search(r"_(\d+)\.db$", f.name).group(1) for f in files}  # type: ignore[union-attr]
    assert len(pids) == 2  # two processes wrote the counts each scrape added up


def loopback(http: TestClient) -> TestClient:
    """The same app, called from 127.0.0.1 (the test client's own address is no IP)."""
    return TestClient(http.app, base_url="https://127.0.0.1:8443", client=("127.0.0.1", 4000))


def test_throttle_hits_are_counted(http: TestClient, demo: dict[str, Any]) -> None:
    def value(name: str, **labels: str) -> float:
        return sample(loopback(http).get("/metrics").text, name, **labels)

    before = value("casegate_throttle_hits_total", throttle="client_auth")
    for _ in range(12):
        http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                  auth=(demo["client_id"], "wrong"))
    assert value("casegate_throttle_hits_total", throttle="client_auth") - before == 2


def test_metrics_answer_loopback_only_by_default(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, base_url="https://127.0.0.1:8443", client=("203.0.113.9", 4000)) as far:
        assert far.get("/metrics").status_code == 403
    with TestClient(app, base_url="https://127.0.0.1:8443", client=("::1", 4000)) as near:
        assert near.get("/metrics").status_code == 200


def test_a_configured_token_is_required_from_everyone(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("scrape-me-1234")}))
    with TestClient(app, base_url="https://127.0.0.1:8443", client=("127.0.0.1", 4000)) as near:
        refused = near.get("/metrics")
        assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]
        assert near.get("/metrics", headers=bearer("wrong")).status_code == 401
        assert near.get("/metrics", auth=("a", "scrape-me-1234")).status_code == 401
    with TestClient(app, base_url="https://127.0.0.1:8443", client=("203.0.113.9", 4000)) as far:
        shown = far.get("/metrics", headers=bearer("scrape-me-1234"))
        assert shown.status_code == 200 and "casegate_http_requests_total" in shown.text


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_server_leaves_no_counts_behind(tmp_path: Path, workers: int) -> None:
    """The counts are memory (/dev/shm): one folder per home and port, removed at the stop
    (a kill -9 leaves it to the next start on that port, which empties it)."""
    served = Served(tmp_path / "home", f"sqlite:///{tmp_path / 'casegate.db'}",
                    workers=workers)
    served.start()
    counts = metrics.multiprocess_dir(served.home, served.port)
    with served.client() as http:
        assert http.get("/healthz").status_code == 200
    assert list(counts.glob("*.db"))
    served.stop()
    assert served.process is not None and served.process.returncode == 0
    assert not counts.exists()


def test_a_request_is_counted_as_counter_and_histogram_count_it() -> None:
    """request_done writes the values Counter.inc and Histogram.observe would: each latency
    in the bucket of the first bound it does not exceed (a bound itself included)."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    metrics.enable()
    reference = CollectorRegistry()
    count = Counter("ref_requests", "", ["method", "route", "status"], registry=reference)
    latency = Histogram("ref_latency", "", ["method", "route"], buckets=metrics.BUCKETS,
                        registry=reference)
    route = "/test/request-counting"
    seconds = [0.0, 0.001, 0.0010001, 0.0025, 0.3, 10.0, 10.5, 0.004]
    for s in seconds:
        metrics.request_done("POST", route, 418, s)
        count.labels("POST", route, "418").inc()
        latency.labels("POST", route).observe(s)

    def series(registry: Any, name: str) -> dict[tuple[str, str], float]:
        return {(s.name.rsplit("_", 1)[-1], s.labels.get("le", "")): s.value
                for family in registry.collect() if family.name == name
                for s in family.samples if s.labels.get("route") == route
                and not s.name.endswith("_created")}

    from prometheus_client import REGISTRY

    mine = series(REGISTRY, "casegate_http_request_duration_seconds")
    assert mine == series(reference, "ref_latency")
    assert mine[("count", "")] == len(seconds) and mine[("bucket", "0.001")] == 2
    assert series(REGISTRY, "casegate_http_requests") == series(reference, "ref_requests")
