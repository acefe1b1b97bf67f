"""The JWT bearer grant (RFC 7523 §2.1) over HTTP: a client bound to an identity mapping
posts an assertion and gets a token acting as the mapped operator, made just in time when
it does not exist yet (seed 004)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from casegate.storage.models import AuditEvent, Operator
from fixtures.assertions import JWT_BEARER, TOKEN_PATH, Issuer, token_endpoint, trust_issuer
from fixtures.factories import CASES_PATH, DEMO_GROUP, SEED_BODY, bearer, make_group, make_operator


def exchange(http: TestClient, client_id: str, secret: str, assertion: str,
             **form: str) -> Any:
    auth = (client_id, secret) if client_id else None
    return http.post(TOKEN_PATH, data={"grant_type": JWT_BEARER, "assertion": assertion,
                                       **form}, auth=auth)


def unverified(token: str) -> dict[str, Any]:
    import base64
    import json

    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def audit_events(http: TestClient, db: sessionmaker[Session], event: str) -> list[AuditEvent]:
    http.app.state.runtime.audit.flush()  # type: ignore[attr-defined]
    with db() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event == event)
                                    .order_by(AuditEvent.id)))


def test_an_existing_operator_gets_a_token_and_calls_the_case_api(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    trusted = trust_issuer(db, settings, Issuer(), provision=False)
    person = make_operator(db, kind="person", password="pw-123456789")
    response = exchange(http, trusted.client_id, trusted.secret,
                        trusted.idp.assertion(person, token_endpoint(settings)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "cases casetypes"
    assert response.headers["cache-control"] == "no-store"
    claims = unverified(body["access_token"])
    assert claims["sub"] == person and claims["client_id"] == trusted.client_id
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(body["access_token"]))
    assert created.status_code == 201, created.text


def test_seed_004_a_person_with_no_operator_yet_simply_works(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    idp = Issuer()
    trusted = trust_issuer(db, settings, idp, claim_map={"name": "name", "email": "email"})
    subject = "new.person@city.example"
    assertion = idp.assertion(subject, token_endpoint(settings), name="New Person",
                              email="new.person@city.example")
    response = exchange(http, trusted.client_id, trusted.secret, assertion)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert unverified(token)["sub"] == subject
    with db() as session:
        operator = session.get(Operator, subject)
        assert operator is not None
        # from the model operator: its kind and access group; enabled; the mapped fields
        assert (operator.kind, operator.access_group, operator.enabled) == (
            "service", DEMO_GROUP, True)
        assert (operator.name, operator.email) == ("New Person", "new.person@city.example")
        assert operator.provisioned_by == trusted.mapping
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert created.status_code == 201, created.text
    [event] = audit_events(http, db, "operator.provisioned")
    assert event.subject == subject and event.actor == trusted.client_id
    assert event.detail["identity_mapping"] == trusted.mapping


def test_without_provisioning_a_missing_operator_is_invalid_grant(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    trusted = trust_issuer(db, settings, Issuer(), provision=False)
    response = exchange(http, trusted.client_id, trusted.secret,
                        trusted.idp.assertion("nobody@city.example", token_endpoint(settings)))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description":
                               "no operator is associated with the assertion's subject"}
    with db() as session:
        assert session.get(Operator, "nobody@city.example") is None
    [event] = audit_events(http, db, "token.refused")
    assert event.outcome == "refused" and event.detail["error"] == "invalid_grant"


def test_a_mapped_access_group_is_chosen_only_among_the_allowed(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    allowed = make_group(db, ["pxGetCases"], ["cases"])
    idp = Issuer()
    trusted = trust_issuer(db, settings, idp, allowed_groups=[allowed],
                           claim_map={"groups": "accessgroup"})
    audience = token_endpoint(settings)
    # an identity provider must never grant itself an administrator's group
    refused = exchange(http, trusted.client_id, trusted.secret,
                       idp.assertion("eve@city.example", audience,
                                     groups="Casegate:Administrators"))
    assert refused.status_code == 400
    assert refused.json()["error_description"] == (
        "the access group the assertion names is not one the identity mapping allows")
    with db() as session:
        assert session.get(Operator, "eve@city.example") is None
    granted = exchange(http, trusted.client_id, trusted.secret,
                       idp.assertion("ann@city.example", audience, groups=[allowed]))
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "cases"
    with db() as session:
        assert session.get(Operator, "ann@city.example").access_group == allowed  # type: ignore[union-attr]


def test_later_assertions_update_only_the_operators_the_mapping_created(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    idp = Issuer()
    trusted = trust_issuer(db, settings, idp, claim_map={"name": "name"})
    audience = token_endpoint(settings)
    existing = make_operator(db)  # made by an administrator, not by the mapping
    for name in ("First Name", "Second Name"):
        for subject in ("jit@city.example", existing):
            response = exchange(http, trusted.client_id, trusted.secret,
                                idp.assertion(subject, audience, name=name))
            assert response.status_code == 200, response.text
    with db() as session:
        assert session.get(Operator, "jit@city.example").name == "Second Name"  # type: ignore[union-attr]
        assert session.get(Operator, existing).name == existing  # type: ignore[union-attr]
    [event] = audit_events(http, db, "operator.updated")
    assert event.subject == "jit@city.example" and event.detail["fields"] == ["name"]


def test_a_client_not_allowed_the_grant_is_unauthorized_client(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        demo: dict[str, Any]) -> None:
    trusted = trust_issuer(db, settings, Issuer())
    response = exchange(http, demo["client_id"], demo["client_secret"],
                        trusted.idp.assertion("x@city.example", token_endpoint(settings)))
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_no_client_authentication_is_invalid_client_unless_the_profile_allows_it(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    trusted = trust_issuer(db, settings, Issuer())
    response = exchange(http, "", "", trusted.idp.assertion("x@city.example",
                                                             token_endpoint(settings)))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_token_without_a_client_carries_the_issuer_and_works_like_any_other(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    idp = Issuer()
    trust_issuer(db, settings, idp, allow_without_client=True, with_client=False)
    response = exchange(http, "", "", idp.assertion("svc@city.example", token_endpoint(settings)))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert unverified(token)["client_id"] == idp.issuer
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    from casegate.access import operators
    from casegate.storage.db import transaction

    with transaction(db) as session:
        operators.set_enabled(session, "svc@city.example", False)
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("how", ["revoked", "operator disabled", "client disabled"])
def test_the_token_is_revoked_like_every_other(
        http: TestClient, db: sessionmaker[Session], settings: Settings, how: str) -> None:
    from casegate.access import operators
    from casegate.clients import service as clients
    from casegate.storage.db import transaction

    trusted = trust_issuer(db, settings, Issuer())
    response = exchange(http, trusted.client_id, trusted.secret,
                        trusted.idp.assertion("rev@city.example", token_endpoint(settings)))
    token = response.json()["access_token"]
    auth = (trusted.client_id, trusted.secret)
    introspected = http.post("/prweb/PRRestService/oauth2/v1/token/introspect",
                             data={"token": token}, auth=auth).json()
    assert introspected["active"] is True and introspected["sub"] == "rev@city.example"
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    if how == "revoked":
        revoked = http.post("/prweb/PRRestService/oauth2/v1/revoke", data={"token": token},
                            auth=auth)
        assert revoked.status_code == 200
    else:
        with transaction(db) as session:
            if how == "operator disabled":
                operators.set_enabled(session, "rev@city.example", False)
            else:
                clients.set_enabled(session, trusted.client_id, False)
    refused = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
