"""The round trip: a consumer operator creates, reads, updates and lists a remote case type's
cases through the consumer, which forwards them to the producer as that operator."""

from urllib.parse import quote

from sqlalchemy import text

from casegate.remote import systems
from casegate.storage.db import make_engine
from casegate.storage.models import RemoteSystem
from fixtures.remote import CASES, CASES_V2, LOCAL, PERMIT, PERMIT_BODY, Pair


def test_imported_case_type_is_remote_on_the_consumer(pair: Pair) -> None:
    listed = pair.consumer.json("remotesystem", "show", "Producer")
    assert listed["case_types"] == [PERMIT]
    assert listed["client_id"] == pair.remote_client["client_id"]
    secret = pair.remote_client["client_secret"]
    assert secret not in str(listed)
    # at rest: encrypted under the key in the consumer's home, not in the database
    engine = make_engine(pair.consumer.env["CASEGATE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM remote_systems")).mappings().one()
    finally:
        engine.dispose()
    assert all(secret not in str(value) for value in row.values())
    key = (pair.consumer.home / "secret.key").read_bytes().strip()
    stored = RemoteSystem(name=row["name"], secret_encrypted=row["secret_encrypted"])
    assert systems.decrypt_secret(key, stored) == secret


def test_create_read_update_list_through_the_consumer(pair: Pair) -> None:
    with pair.as_operator("alice@city") as consumer, pair.producer.client() as producer:
        created = consumer.post(CASES, json=PERMIT_BODY)
        assert created.status_code == 201, created.text
        case_id = created.json()["ID"]
        assert case_id.startswith("ACME-PERMITS-WORK PRM-")
        assert created.json()["pxObjClass"] == "Pega-API-CaseManagement-Case"

        path = f"{CASES}/{quote(case_id)}"
        read = consumer.get(path)
        assert read.status_code == 200, read.text
        assert read.json()["content"] == PERMIT_BODY["content"]
        assert read.json()["createdBy"] == "alice@city"  # the producer's own record
        updated = consumer.put(path, json={"content": {"Kind": "loading zone"}},
                               headers={"If-Match": read.headers["etag"]})
        assert updated.status_code == 204, updated.text
        assert updated.headers["etag"] != read.headers["etag"]
        stale = consumer.put(path, json={"content": {"Kind": "x"}},
                             headers={"If-Match": read.headers["etag"]})
        assert stale.status_code == 412
        assert stale.json()["errors"][0]["ID"] == "Pega_API_PreconditionFailed"
        assert consumer.get(path).json()["content"]["Kind"] == "loading zone"

        local = consumer.post(CASES, json={"caseTypeID": LOCAL, "content": {}})
        assert local.status_code == 201
        listing = consumer.get(CASES).json()
        ids = [c["ID"] for c in listing["cases"]]
        assert case_id in ids and local.json()["ID"] in ids
        assert listing["total"] >= 2

        # the case lives on the producer only
        demo = pair.producer.demo
        token = producer.post("/prweb/PRRestService/oauth2/v1/token",
                              data={"grant_type": "client_credentials"},
                              auth=(demo["client_id"], pair.producer_demo_secret())).json()
        assert "access_token" in token, token
        there = producer.get(path, headers={"Authorization": f"Bearer {token['access_token']}"})
        assert there.status_code == 200 and there.json()["content"]["Kind"] == "loading zone"

    forwarded = pair.consumer.audit("case.forwarded")
    assert any(e["subject"] == case_id and e["actor"] == "alice@city"
               and e["detail"]["remote_system"] == "Producer" for e in forwarded)
    issued = pair.producer.audit("token.issued")
    assert any(e["actor"] == "alice@city" and e["subject"] == pair.remote_client["client_id"]
               and e["detail"]["grant_type"].endswith("jwt-bearer") for e in issued)


def test_dx_v2_create_and_read_through_the_consumer(pair: Pair) -> None:
    with pair.as_operator("alice@city") as consumer:
        created = consumer.post(CASES_V2, json=PERMIT_BODY)
        assert created.status_code == 201, created.text
        info = created.json()["data"]["caseInfo"]
        assert info["caseTypeID"] == PERMIT and info["content"] == PERMIT_BODY["content"]
        read = consumer.get(f"{CASES_V2}/{quote(created.json()['ID'])}")
        assert read.status_code == 200 and "etag" in read.headers
        assert read.json()["data"]["caseInfo"]["ID"] == created.json()["ID"]


def test_idempotency_key_answers_the_same_case(pair: Pair) -> None:
    """On the producer directly (per client and operator), and through the consumer."""
    with pair.as_operator("alice@city") as consumer:
        key = {"Idempotency-Key": "order-7731"}
        first = consumer.post(CASES, json=PERMIT_BODY, headers=key)
        again = consumer.post(CASES, json=PERMIT_BODY, headers=key)
        other = consumer.post(CASES, json=PERMIT_BODY, headers={"Idempotency-Key": "order-7732"})
        local = [consumer.post(CASES, json={"caseTypeID": LOCAL}, headers=key)
                 for _ in range(2)]
    assert first.status_code == again.status_code == other.status_code == 201
    assert first.json()["ID"] == again.json()["ID"] != other.json()["ID"]
    assert local[0].status_code == local[1].status_code == 201
    assert local[0].json()["ID"] == local[1].json()["ID"]
