"""`Idempotency-Key` on POST /cases (the producer side of remote case types): a repeat by the
same client and operator answers the first request's case; never a second case."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.cases import idempotency
from casegate.cases.schemas import CreateCase
from casegate.oauth import bearer
from casegate.settings import Settings
from casegate.storage.models import AuditEvent, Case, IdempotencyKey
from fixtures.factories import CASES_PATH, SEED_BODY, get_token, make_registration

V2_CASES = "/prweb/api/application/v2/cases"


def token_of(http: TestClient, client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_token(http, client_id, secret)['access_token']}"}


def cases(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def test_a_repeat_answers_the_same_case(http: TestClient, demo: dict[str, Any],
                                        db: sessionmaker[Session]) -> None:
    headers = token_of(http, demo["client_id"], demo["client_secret"])
    before = cases(db)
    first = http.post(CASES_PATH, json=SEED_BODY, headers=headers | {"Idempotency-Key": "k-1"})
    again = http.post(CASES_PATH, json=SEED_BODY, headers=headers | {"Idempotency-Key": "k-1"})
    v2 = http.post(V2_CASES, json=SEED_BODY, headers=headers | {"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == v2.status_code == 201
    assert first.json() == again.json()
    assert first.headers["etag"] == again.headers["etag"]
    assert v2.json()["ID"] == first.json()["ID"]
    assert cases(db) == before + 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event == "case.created", AuditEvent.subject == first.json()["ID"])) == 1
        # the key is stored hashed, per client and operator
        row = session.scalars(select(IdempotencyKey)).one()
        assert row.key != "k-1" and row.client_id == demo["client_id"]
        assert row.operator_id == demo["operator"] and row.case_id == first.json()["ID"]


def test_another_key_or_another_client_makes_another_case(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session],
        settings: Settings) -> None:
    ours = token_of(http, demo["client_id"], demo["client_secret"])
    other_client, secret = make_registration(db, settings, operator=demo["operator"])
    theirs = token_of(http, other_client.client_id, secret)
    ids = {http.post(CASES_PATH, json=SEED_BODY, headers=h | {"Idempotency-Key": k}).json()["ID"]
           for h, k in ((ours, "a"), (ours, "b"), (theirs, "a"), (ours, "a"))}
    assert len(ids) == 3


def test_a_bad_key_is_a_400_in_the_pega_envelope(http: TestClient, demo: dict[str, Any],
                                                 db: sessionmaker[Session]) -> None:
    headers = token_of(http, demo["client_id"], demo["client_secret"])
    before = cases(db)
    for key in ("x" * 256, "tab\there"):
        response = http.post(CASES_PATH, json=SEED_BODY,
                             headers=headers | {"Idempotency-Key": key})
        assert response.status_code == 400
        assert response.json() == {"pxObjClass": "Pega-API", "errors": [{
            "ID": "Pega_API_InvalidRequest",
            "message": "Idempotency-Key: 1 to 255 printable characters"}]}
    assert cases(db) == before


def test_the_same_key_at_the_same_moment_makes_one_case(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session],
        settings: Settings) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    runtime = http.app.state.runtime  # type: ignore[attr-defined]
    with db() as session:
        principal = bearer.authenticate(session, runtime.keys, settings.base_url,
                                        settings.api_audience, token, leeway=0)
    body = CreateCase.model_validate(SEED_BODY)
    key = idempotency.check_key("same-moment")
    before = cases(db)
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: idempotency.create_once(db, principal, body, key),
                             range(8)))
    assert len({case.id for case in made}) == 1
    assert cases(db) == before + 1
