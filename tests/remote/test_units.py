"""The dense parts of remote case types: the secret at rest, the token cache, the signed
assertion (checked by the same verifier the producer uses)."""

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.cases import case_types
from casegate.errors import CasegateError
from casegate.oauth import assertions
from casegate.oauth.keys import KeyRing
from casegate.remote import systems, tokens
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import AuditEvent, Case, RemoteSystem
from fixtures.factories import CASES_PATH, get_token

SECRET = "s3cr3t-0123456789abcdefghijklmnopqrstuvwxyzAB"
FIELDS = {"client id": "12345678901234567890", "client secret": SECRET}


def test_secret_is_encrypted_bound_to_the_key_and_the_name() -> None:
    sealed = systems.encrypt_secret(b"key-one", "Producer", SECRET)
    assert SECRET not in sealed
    assert sealed != systems.encrypt_secret(b"key-one", "Producer", SECRET)  # fresh nonce
    row = RemoteSystem(name="Producer", secret_encrypted=sealed)
    assert systems.decrypt_secret(b"key-one", row) == SECRET
    for key, name in ((b"key-two", "Producer"), (b"key-one", "Other")):
        with pytest.raises(CasegateError, match="remotesystem update"):
            systems.decrypt_secret(key, RemoteSystem(name=name, secret_encrypted=sealed))


def test_one_exchange_in_flight_per_key() -> None:
    cache = tokens.TokenCache()
    calls: list[str] = []

    def exchange() -> tuple[str, float]:
        calls.append("x")
        time.sleep(0.2)
        return f"token-{len(calls)}", 3600.0

    key = ("Producer", "1", "alice", "cases")
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get(key, exchange)))
               for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["token-1"] * 16 and len(calls) == 1
    other = ("Producer", "1", "bob", "cases")
    assert cache.get(other, exchange) == "token-2"
    cache.drop(key, "not-the-cached-one")
    assert cache.get(key, exchange) == "token-1"
    cache.drop(key, "token-1")
    assert cache.get(key, exchange) == "token-3"


def test_a_token_is_renewed_before_it_expires() -> None:
    cache = tokens.TokenCache()
    answers = iter([("first", 0.4), ("second", 3600.0)])
    key = ("Producer", "1", "alice", "cases")
    assert cache.get(key, lambda: next(answers)) == "first"
    assert cache.get(key, lambda: next(answers)) == "first"
    time.sleep(0.35)  # within the margin before exp (a quarter of its life)
    assert cache.get(key, lambda: next(answers)) == "second"


def test_assertion_passes_the_producers_verifier(db: sessionmaker[Session],
                                                settings: Settings) -> None:
    keys = KeyRing(db, settings)
    audience = "https://producer.example/prweb/PRRestService/oauth2/v1/token"
    jwt = tokens.assertion(keys, settings.base_url, "alice@city", audience)
    trust = assertions.Trust(issuer=settings.base_url, audiences=(audience,), jwks=keys.jwks())
    claims = assertions.verify(jwt, trust)
    assert claims["sub"] == "alice@city" and claims["aud"] == audience
    assert 0 < claims["exp"] - claims["iat"] <= 300 and claims["jti"]
    other = tokens.assertion(keys, settings.base_url, "alice@city", audience)
    assert assertions.verify(other, trust)["jti"] != claims["jti"]
    with pytest.raises(assertions.AssertionRefused):
        assertions.verify(jwt, assertions.Trust(issuer=settings.base_url,
                                                audiences=("https://elsewhere/token",),
                                                jwks=keys.jwks()))


def test_remote_case_type_never_takes_the_fast_path_or_becomes_local(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session],
        settings: Settings) -> None:
    """A producer nobody listens for: the full route answers 503, nothing is made here."""
    with transaction(db) as session:
        system = systems.create(session, settings.hmac_key(), "Nowhere", "https://127.0.0.1:9",
                                FIELDS)
        case_type = case_types.create(session, "Acme-Far-Work-Thing", "REMOTE")
        case_type.remote_system = system.name
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    with db() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    response = http.post(CASES_PATH, json={"caseTypeID": "Acme-Far-Work-Thing"},
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.json() == {"pxObjClass": "Pega-API", "errors": [{
        "ID": "Pega_API_ServiceUnavailable",
        "message": "remote system Nowhere is unavailable (ConnectError); try again later"}]}
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event == "case.forwarded")) == 0


def test_a_local_case_stays_local_when_a_remote_type_shares_its_class_group(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session],
        settings: Settings) -> None:
    with transaction(db) as session:
        system = systems.create(session, settings.hmac_key(), "Nowhere", "https://127.0.0.1:9",
                                FIELDS)
        case_type = case_types.create(session, "Cnow-connectnow-Work-Elsewhere", "REMOTE")
        case_type.remote_system = system.name
    headers = {"Authorization": "Bearer "
               + get_token(http, demo["client_id"], demo["client_secret"])["access_token"]}
    created = http.post(CASES_PATH, json={"caseTypeID": demo["case_type"]}, headers=headers)
    assert created.status_code == 201
    path = f"{CASES_PATH}/{created.json()['ID'].replace(' ', '%20')}"
    read = http.get(path, headers=headers)
    assert read.status_code == 200 and read.json()["ID"] == created.json()["ID"]
    updated = http.put(path, json={"content": {"a": 1}},
                       headers=headers | {"If-Match": read.headers["etag"]})
    assert updated.status_code == 204
    # an ID of that class group that is not here is the remote system's to answer
    assert http.get(f"{CASES_PATH}/CNOW-CONNECTNOW-WORK%20REMOTE-1",
                    headers=headers).status_code == 503
