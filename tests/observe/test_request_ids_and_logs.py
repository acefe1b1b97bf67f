"""Request IDs (taken from X-Request-ID when safe, else made; echoed; in the audit rows) and
the log: one JSON object per line, with the route's template, never a secret or token."""

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.models import AuditEvent
from fixtures.factories import CASES_PATH, REVOKE_PATH, SEED_BODY, TOKEN_PATH, bearer, get_token
from fixtures.served import Served

SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def audit_rows(db: sessionmaker[Session], http: TestClient, request_id: str) -> list[str]:
    """The events written for this request (the token endpoint's are batched: the writer
    thread may hold the batch a moment, so look again for a few seconds)."""
    deadline = time.monotonic() + 5
    while True:
        http.app.state.runtime.audit.flush()
        with db() as session:
            found = list(session.scalars(select(AuditEvent.event)
                                         .where(AuditEvent.request_id == request_id)
                                         .order_by(AuditEvent.id)))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_callers_request_id_is_echoed_and_written_in_the_audit_rows(
        demo: dict[str, Any], http: TestClient, db: sessionmaker[Session]) -> None:
    issued = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                       auth=(demo["client_id"], demo["client_secret"]),
                       headers={"X-Request-ID": "req-token.1"})
    assert issued.status_code == 200 and issued.headers["x-request-id"] == "req-token.1"
    refused = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                        auth=(demo["client_id"], "wrong"), headers={"X-Request-ID": "req-bad"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "req-bad"
    token = issued.json()["access_token"]
    made = http.post(CASES_PATH, json=SEED_BODY,
                     headers=bearer(token) | {"X-Request-ID": "req-case"})
    assert made.status_code == 201 and made.headers["x-request-id"] == "req-case"
    revoked = http.post(REVOKE_PATH, data={"token": token},
                        auth=(demo["client_id"], demo["client_secret"]),
                        headers={"X-Request-ID": "req-revoke"})
    assert revoked.status_code == 200

    assert audit_rows(db, http, "req-token.1") == ["token.issued"]
    assert audit_rows(db, http, "req-bad") == ["token.refused"]
    assert audit_rows(db, http, "req-case") == ["case.created"]
    assert audit_rows(db, http, "req-revoke") == ["token.revoked"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("given", ["has space", "x" * 65, "<script>", "a/b", "a%0Ab", ""])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(http: TestClient, given: str) -> None:
    answered = http.get("/healthz", headers={"X-Request-ID": given})
    made = answered.headers["x-request-id"]
    assert made != given and SAFE.fullmatch(made)


def test_requests_without_an_id_get_distinct_ones(http: TestClient) -> None:
    ids = {http.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5 and all(SAFE.fullmatch(i) for i in ids)
    # an error answered by the outermost guard carries one too
    too_big = http.post(TOKEN_PATH, content=b"x" * 70000,
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413 and SAFE.fullmatch(too_big.headers["x-request-id"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_json_logs_one_object_per_line_without_secrets(
        tmp_path: Path, database_url: str) -> None:
    served = Served(tmp_path / "home", database_url, workers=1)
    served.env["CASEGATE_LOG_FORMAT"] = "json"
    served.start()
    try:
        demo = served.demo
        with served.client() as http:
            token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
            case_id = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).json()["ID"]
            assert http.get(f"{CASES_PATH}/{quote(case_id)}", headers=bearer(token),
                            params={}).status_code == 200
            # a password in a refused request, a bad secret, a bad token, an unknown path
            http.post(TOKEN_PATH, data={"grant_type": "password", "username": "u",
                                        "password": "pw-never-logged-7"},
                      auth=(demo["client_id"], demo["client_secret"]))
            http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                      auth=(demo["client_id"], "secret-never-logged-8"))
            http.get(CASES_PATH, headers=bearer("eyJ.token-never-logged.9"))
            http.get("/no/such/path/secret-path-10", headers={"X-Request-ID": "req-404"})
            http.post(REVOKE_PATH, data={"token": token},
                      auth=(demo["client_id"], demo["client_secret"]))
    finally:
        served.stop()
    text = served.log.read_text()
    for secret in (demo["client_secret"], token, token.split(".")[2], "pw-never-logged-7",
                   "secret-never-logged-8", "token-never-logged", "secret-path-10"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one object
    access = [line for line in lines if line["logger"] == "casegate.access"]
    assert access and all({"time", "level", "request_id", "route", "status", "duration_ms"}
                          <= set(line) for line in access)
    by_route = {(line["method"], line["route"], line["status"]): line for line in access}
    issued = by_route[("POST", TOKEN_PATH, 200)]
    assert issued["client_id"] == demo["client_id"]
    assert issued["operator"] == demo["operator"]
    read = by_route[("GET", CASES_PATH + "/{case_id}", 200)]
    assert read["operator"] == demo["operator"] and read["client_id"] == demo["client_id"]
    assert by_route[("GET", "unmatched", 404)]["request_id"] == "req-404"
    assert ("POST", TOKEN_PATH, 401) in by_route and ("GET", CASES_PATH, 401) in by_route
    assert any(line["logger"] == "casegate.serve" for line in lines)  # start-up, as JSON too
