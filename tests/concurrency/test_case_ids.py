"""Case IDs are unique and never reused under concurrency: many processes creating cases at
once, on SQLite and on PostgreSQL, get distinct, increasing IDs per case type (issue 3)."""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from casegate.access.privileges import grants
from casegate.cases import service
from casegate.cases.schemas import CreateCase
from casegate.oauth.bearer import Principal
from casegate.storage.db import transaction
from casegate.storage.models import AccessGroup, Operator
from fixtures.factories import CASES_PATH, DEMO_GROUP, TOKEN_PATH
from fixtures.served import Served, cli, with_bytecode_cache

DEMO_TYPE = "Cnow-connectnow-Work-CityServicesRequest"
DEMO_GROUP_ID = "CNOW-CONNECTNOW-WORK"  # Pega's class group: the class name up to "-Work"
DEMO_FIRST = 1001  # `casegate init --demo` numbers the seeds' case type from 1001
PARCEL_TYPE = "Cgt-Depot-Work-Parcel"
PARCEL_GROUP_ID = "CGT-DEPOT-WORK"
PARCEL_FIRST = 70  # set below with --first-number
PROCESSES = 4
REQUESTS = 25  # per process

# One client process: its own interpreter, its own TLS connection. It says "ready" once
# connected, waits for "go" on stdin (so all processes start together), then creates its
# cases one after another and prints [[status, ID or error body], ...] in request order.
CLIENT = r"""
import json, sys
import httpx

url, cacert, token, plan = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
headers = {"Authorization": "Bearer " + token}
results = []
with httpx.Client(base_url=url, verify=cacert, timeout=60) as web:
    web.get("/healthz")  # the TLS handshake happens before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    for case_type in plan:
        answer = web.post(sys.argv[5], headers=headers,
                          json={"caseTypeID": case_type, "processID": "pyStartCase",
                                "content": {"RequestDetail": "concurrency"}})
        ok = answer.status_code == 201
        results.append([answer.status_code, answer.json()["ID"] if ok else answer.text])
print(json.dumps(results), flush=True)
"""


def plan_for(process: int) -> list[str]:
    """Each process alternates the two case types, half of them starting with each."""
    types = [DEMO_TYPE, PARCEL_TYPE]
    return [types[(process + k) % 2] for k in range(REQUESTS)]


def number(case_id: str) -> int:
    """"CNOW-CONNECTNOW-WORK REQ-1001" -> 1001."""
    return int(case_id.rsplit("-", 1)[1])


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    server = Served(tmp_path / "home", database_url, workers=2)
    server.start()
    yield server
    server.stop()


def demo_token(served: Served) -> str:
    with served.client() as web:
        answer = web.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                          auth=(served.demo["client_id"], served.demo["client_secret"]))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def run_clients(served: Served, token: str) -> list[list[list[Any]]]:
    env = with_bytecode_cache(served.env)
    clients = [subprocess.Popen(
        [sys.executable, "-c", CLIENT, served.url, served.cacert, token,
         json.dumps(plan_for(p)), CASES_PATH],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for p in range(PROCESSES)]
    try:
        for client in clients:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "ready"
        for client in clients:  # every process is connected: release them together
            assert client.stdin is not None
            client.stdin.write("go\n")
            client.stdin.flush()
        outputs = []
        for client in clients:
            out, err = client.communicate(timeout=60)
            assert client.returncode == 0, err
            outputs.append(json.loads(out))
        return outputs
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()


def test_concurrent_processes_get_distinct_contiguous_increasing_case_ids(served: Served) -> None:
    created = json.loads(cli(served.env, "casetype", "create", PARCEL_TYPE, "--prefix", "PAR",
                             "--first-number", str(PARCEL_FIRST), "--json").stdout)
    assert created["next_number"] == PARCEL_FIRST
    token = demo_token(served)

    started = time.monotonic()
    outputs = run_clients(served, token)
    elapsed = time.monotonic() - started

    answers = [answer for output in outputs for answer in output]
    assert len(answers) == PROCESSES * REQUESTS
    failures = [answer for answer in answers if answer[0] != 201]
    assert failures == []
    ids = [answer[1] for answer in answers]
    assert len(set(ids)) == len(ids)  # no ID handed out twice

    # nothing failed, so every number from the first one on was used exactly once
    demo_count = sum(plan_for(p).count(DEMO_TYPE) for p in range(PROCESSES))
    parcel_count = PROCESSES * REQUESTS - demo_count
    assert sorted(i for i in ids if i.startswith(DEMO_GROUP_ID + " ")) == sorted(
        f"{DEMO_GROUP_ID} REQ-{n}" for n in range(DEMO_FIRST, DEMO_FIRST + demo_count))
    assert sorted(i for i in ids if i.startswith(PARCEL_GROUP_ID + " ")) == sorted(
        f"{PARCEL_GROUP_ID} PAR-{n}" for n in range(PARCEL_FIRST, PARCEL_FIRST + parcel_count))

    # each process saw its own cases of a type numbered in the order it created them
    for p, output in enumerate(outputs):
        for case_type, prefix in ((DEMO_TYPE, DEMO_GROUP_ID), (PARCEL_TYPE, PARCEL_GROUP_ID)):
            mine = [number(answer[1]) for answer, planned in zip(output, plan_for(p), strict=True)
                    if planned == case_type]
            assert all(answer[1].startswith(prefix + " ") for answer, planned
                       in zip(output, plan_for(p), strict=True) if planned == case_type)
            assert mine == sorted(mine) and len(set(mine)) == len(mine), (p, case_type, mine)

    # the next case continues the sequence: no number was skipped or will be reused
    with served.client() as web:
        after = web.post(CASES_PATH, headers={"Authorization": f"Bearer {token}"},
                         json={"caseTypeID": PARCEL_TYPE, "content": {}})
    assert after.status_code == 201
    assert after.json()["ID"] == f"{PARCEL_GROUP_ID} PAR-{PARCEL_FIRST + parcel_count}"
    assert elapsed < 30, f"100 case creations took {elapsed:.1f} s"


def _principal(db: sessionmaker[Session], operator_id: str) -> Principal:
    with db() as session:
        operator = session.get_one(Operator, operator_id)
        group = session.get_one(AccessGroup, DEMO_GROUP)
        session.expunge_all()
    return Principal(operator=operator, group=group, client_id="threads",
                     scope=frozenset({"cases"}), claims={})


def test_concurrent_threads_creating_cases_in_process_get_distinct_contiguous_ids(
        db: sessionmaker[Session], demo: dict[str, Any]) -> None:
    principal = _principal(db, demo["operator"])
    body = CreateCase.model_validate({"caseTypeID": DEMO_TYPE, "content": {}})
    threads, per_thread = 8, 10
    barrier = threading.Barrier(threads)
    got: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        mine: list[str] = []
        try:
            barrier.wait(timeout=30)
            for _ in range(per_thread):
                with transaction(db) as session:
                    case = service.create(session, principal, grants(session, principal.group),
                                          body)
                    mine.append(case.id)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        got[index] = mine

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    ids = [case_id for mine in got.values() for case_id in mine]
    assert sorted(ids) == sorted(f"{DEMO_GROUP_ID} REQ-{n}"
                                 for n in range(DEMO_FIRST, DEMO_FIRST + threads * per_thread))
    for mine in got.values():
        numbers = [number(case_id) for case_id in mine]
        assert numbers == sorted(numbers)
