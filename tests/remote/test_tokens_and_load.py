"""Producer tokens are cached and exchanged again when they expire or are refused; one
exchange serves many parallel creates; a producer restarted mid-run makes nothing twice."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from fixtures.remote import CASES, PERMIT, PERMIT_BODY, Pair

SQLITE = pytest.mark.parametrize("pair", ["sqlite"], indirect=True)


def exchanges(pair: Pair, operator: str) -> int:
    """JWT bearer tokens the producer issued for the operator (its audit log)."""
    return sum(1 for e in pair.producer.audit("token.issued")
               if e["actor"] == operator and e["detail"]["grant_type"].endswith("jwt-bearer"))


def producer_permits(pair: Pair) -> set[str]:
    """Every permit case on the producer, read there with the demo client."""
    demo = pair.producer.demo
    with pair.producer.client() as producer:
        token = producer.post("/prweb/PRRestService/oauth2/v1/token",
                              data={"grant_type": "client_credentials"},
                              auth=(demo["client_id"], pair.producer_demo_secret())).json()
        listed = producer.get(CASES, params={"caseTypeID": PERMIT, "pageSize": 500},
                              headers={"Authorization": f"Bearer {token['access_token']}"})
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] < 500
    return {c["ID"] for c in listed.json()["cases"]}


def create(client: httpx.Client) -> httpx.Response:
    return client.post(CASES, json=PERMIT_BODY)


def test_32_parallel_creates_make_32_cases_with_one_exchange(pair: Pair) -> None:
    pair.operator_on_both("frank@city", "Permits:Clerks")
    before = producer_permits(pair)
    with pair.as_operator("frank@city") as consumer, ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda _: create(consumer), range(32)))
    assert [a.status_code for a in answers] == [201] * 32
    made = {a.json()["ID"] for a in answers}
    assert len(made) == 32
    assert producer_permits(pair) - before == made
    assert exchanges(pair, "frank@city") == 1


@SQLITE
def test_expired_token_is_exchanged_again(pair: Pair) -> None:
    client_id = pair.remote_client["client_id"]
    pair.operator_on_both("gina@city", "Permits:Clerks")
    pair.producer.run("client", "set-lifetime", client_id, "3")
    try:
        with pair.as_operator("gina@city") as consumer:
            assert create(consumer).status_code == 201
            assert create(consumer).status_code == 201  # the cached token
            time.sleep(3.5)
            assert create(consumer).status_code == 201
    finally:
        pair.producer.run("client", "set-lifetime", client_id, "3600")
    assert exchanges(pair, "gina@city") == 2


@SQLITE
def test_token_refused_by_the_producer_is_dropped_and_exchanged_once_more(pair: Pair) -> None:
    pair.operator_on_both("hugo@city", "Permits:Clerks")
    with pair.as_operator("hugo@city") as consumer:
        assert create(consumer).status_code == 201
        # every token of the client fails from now on: the cached one gets a 401 there
        pair.producer.run("client", "revoke-tokens", pair.remote_client["client_id"])
        time.sleep(1.1)  # tokens issued in the same second as the mark still pass it
        assert create(consumer).status_code == 201
    assert exchanges(pair, "hugo@city") == 2


@SQLITE
def test_producer_restarted_mid_run_creates_nothing_twice(pair: Pair) -> None:
    pair.operator_on_both("ivan@city", "Permits:Clerks")
    before = producer_permits(pair)
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def keep_creating() -> None:
        with pair.as_operator("ivan@city") as consumer:
            while not stop.is_set():
                answers.append(create(consumer))

    workers = [threading.Thread(target=keep_creating) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(2)
        pair.producer.restart()
        time.sleep(2)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    statuses = {a.status_code for a in answers}
    assert statuses <= {201, 503}, statuses
    made = [a.json()["ID"] for a in answers if a.status_code == 201]
    assert len(made) == len(set(made))
    assert answers[-1].status_code == 201  # recovered
    # every 201 is one case there, and no case there lacks its 201
    assert producer_permits(pair) - before == set(made)
    for failed in (a for a in answers if a.status_code == 503):
        assert failed.headers["retry-after"] and "Producer" in failed.text


@SQLITE
def test_exchanges_filling_every_thread_of_the_consumer_still_let_the_producer_fetch_its_keys(
        pair: Pair) -> None:
    """The producer, restarted, has the consumer's JWKS to fetch again at the first exchange,
    while that exchange and the creates waiting on it hold each of the consumer's threads."""
    pair.operator_on_both("judy@city", "Permits:Clerks")
    pair.producer.restart()
    with pair.as_operator("judy@city") as consumer, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: create(consumer), range(8)))
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
