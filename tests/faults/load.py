"""A bounded load of tokens, cases and revocations against a served casegate, and the
check that everything it saw acknowledged is there."""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from fixtures.factories import CASES_PATH, REVOKE_PATH, SEED_BODY, TOKEN_PATH
from fixtures.served import Served

WORKERS = 3  # client threads of the bounded load
MAX_REQUESTS = 400  # per thread, whatever happens


@dataclass
class Tally:
    """What the load saw; lists are appended to by several threads (appends are atomic)."""

    created: list[str] = field(default_factory=list)  # acknowledged cases (201)
    revoked: list[str] = field(default_factory=list)  # acknowledged revocations (200)
    tokens: list[str] = field(default_factory=list)  # tokens issued (200)
    statuses: list[int] = field(default_factory=list)
    unavailable: list[httpx.Response] = field(default_factory=list)


def load(served: Served, tally: Tally, stop: threading.Event) -> None:
    """Tokens, cases and revocations in a loop, until `stop` or MAX_REQUESTS."""
    demo = served.demo
    auth = (demo["client_id"], demo["client_secret"])
    with served.client() as client:
        token = ""
        for i in range(MAX_REQUESTS):
            if stop.is_set():
                return
            try:
                if not token or i % 10 == 0:
                    answer = client.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                         auth=auth)
                    if answer.status_code == 200:
                        token = answer.json()["access_token"]
                        tally.tokens.append(token)
                elif i % 10 == 5:
                    answer = client.post(REVOKE_PATH, data={"token": token}, auth=auth)
                    if answer.status_code == 200:
                        tally.revoked.append(token)
                        token = ""
                else:
                    answer = client.post(CASES_PATH, json=SEED_BODY,
                                         headers={"Authorization": f"Bearer {token}"})
                    if answer.status_code == 201:
                        tally.created.append(answer.json()["ID"])
            except httpx.TransportError:
                continue
            tally.statuses.append(answer.status_code)
            if answer.status_code == 503:
                tally.unavailable.append(answer)
            time.sleep(0.01)


def readiness(served: Served) -> httpx.Response:
    return httpx.get(served.url + "/readyz", verify=served.tls(), timeout=5)


def until(check: Callable[[], bool], seconds: float) -> float:
    """Seconds it took `check` to hold (fails after `seconds`)."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if check():
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def assert_nothing_lost(served: Served, tally: Tally) -> None:
    auth = (served.demo["client_id"], served.demo["client_secret"])
    with served.client() as client:
        token = client.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                            auth=auth).json()["access_token"]
        listed = client.get(CASES_PATH, params={"pageSize": 500},
                            headers={"Authorization": f"Bearer {token}"}).json()
        ids = {case["ID"] for case in listed["cases"]}
        page = 2
        while listed["hasMore"]:
            listed = client.get(CASES_PATH, params={"pageSize": 500, "page": page},
                                headers={"Authorization": f"Bearer {token}"}).json()
            ids |= {case["ID"] for case in listed["cases"]}
            page += 1
        assert set(tally.created) <= ids
        for revoked in tally.revoked:
            refused = client.get(CASES_PATH, headers={"Authorization": f"Bearer {revoked}"})
            assert refused.status_code == 401




@contextlib.contextmanager
def loaded(served: Served) -> Iterator[Tally]:
    """WORKERS threads running `load` for the duration of the block; what they saw."""
    tally = Tally()
    stop = threading.Event()
    threads = [threading.Thread(target=load, args=(served, tally, stop)) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    try:
        yield tally
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
