"""The SAML 2.0 bearer grant (RFC 7522 §2.1) over HTTP, with assertions signed by the
`xmlsec1` tool: a person with no operator yet is provisioned just in time, and a later
assertion updates the mapped name; the attacks refused by oauth/saml.py reach the client as
invalid_grant with an audit event, on both databases."""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import trust
from casegate.app import create_app
from casegate.clients import service as clients
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import AuditEvent, Operator
from conftest import BASE_URL
from fixtures.assertions import TOKEN_PATH, token_endpoint
from fixtures.factories import CASES_PATH, DEMO_GROUP, SEED_BODY, bearer, unique
from fixtures.saml import ISSUER, IdentityProvider, assertion, encode, signed_xml
from saml.test_saml_wrapping import ATTACKS, genuine, serialize

SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider.new()


@dataclass
class SamlClient:
    mapping: str
    client_id: str
    secret: str


@pytest.fixture
def saml_client(db: sessionmaker[Session], settings: Settings,
                idp: IdentityProvider) -> SamlClient:
    with transaction(db) as session:
        mapping = trust.create_mapping(
            session, unique("saml"), type="saml", saml_issuer=ISSUER,
            certificates=[idp.cert_pem], attribute_map={"displayName": "name", "mail": "email"},
            provision=True, model_operator="cityservices-api@casegate")
        client, secret = clients.create(session, settings.hmac_key(), name=unique("client"),
                                        grants=["saml2-bearer"], operator_id=None,
                                        identity_mapping=mapping.name)
        return SamlClient(mapping.name, client.client_id, secret)


def fields(settings: Settings, **extra: Any) -> dict[str, Any]:
    """What an assertion addressed to this casegate's token endpoint says."""
    endpoint = token_endpoint(settings)
    return {"audiences": (endpoint,), "recipient": endpoint} | extra


def exchange(http: TestClient, client: SamlClient, value: str) -> Any:
    return http.post(TOKEN_PATH, data={"grant_type": SAML2_BEARER, "assertion": value},
                     auth=(client.client_id, client.secret))


def subject_of(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def refused(http: TestClient, db: sessionmaker[Session], client: SamlClient,
            value: str) -> str:
    response = exchange(http, client, value)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_grant"
    http.app.state.runtime.audit.flush()  # type: ignore[attr-defined]
    with db() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event == "token.refused")
                                .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.detail["detail"] == body["error_description"]
    return str(body["error_description"])


def test_a_person_with_no_operator_is_provisioned_then_updated(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        idp: IdentityProvider, saml_client: SamlClient) -> None:
    first = assertion(idp, **fields(settings, subject="maria@city.example",
                                     attributes={"displayName": ["Maria Lopez"],
                                                 "mail": ["maria@city.example"]}))
    response = exchange(http, saml_client, first)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert subject_of(token) == "maria@city.example"
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    with db() as session:
        operator = session.get(Operator, "maria@city.example")
        assert operator is not None
        assert (operator.name, operator.email, operator.access_group) == (
            "Maria Lopez", "maria@city.example", DEMO_GROUP)
        assert operator.provisioned_by == saml_client.mapping
    # a later assertion (she married) updates the mapped name of the operator it made
    second = assertion(idp, **fields(settings, subject="maria@city.example",
                                      attributes={"displayName": ["Maria Lopez Garcia"]}))
    assert exchange(http, saml_client, second).status_code == 200
    with db() as session:
        assert session.get(Operator, "maria@city.example").name == "Maria Lopez Garcia"  # type: ignore[union-attr]


def test_a_replayed_assertion_id_is_refused(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        idp: IdentityProvider, saml_client: SamlClient) -> None:
    value = assertion(idp, **fields(settings))
    assert exchange(http, saml_client, value).status_code == 200
    assert refused(http, db, saml_client, value) == "the assertion was already used"


@pytest.fixture
def second_process(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        yield client


def test_the_assertion_id_replay_store_is_shared_by_processes(
        http: TestClient, second_process: TestClient, settings: Settings,
        idp: IdentityProvider, saml_client: SamlClient) -> None:
    value = assertion(idp, **fields(settings))
    assert exchange(http, saml_client, value).status_code == 200
    again = exchange(second_process, saml_client, value)
    assert again.json()["error_description"] == "the assertion was already used"


def test_padding_is_optional(http: TestClient, settings: Settings, idp: IdentityProvider,
                             saml_client: SamlClient) -> None:
    padded = encode(signed_xml(idp, **fields(settings, subject="pad@city.example")),
                    padding=True)
    assert exchange(http, saml_client, padded).status_code == 200


@pytest.mark.parametrize("attack", [
    "another identity provider", "another Issuer", "another Audience", "another Recipient",
    "expired", "not a bearer confirmation", "a DOCTYPE", "a comment in the NameID"])
def test_an_attack_is_invalid_grant(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        idp: IdentityProvider, saml_client: SamlClient, attack: str) -> None:
    import time

    good = fields(settings, subject="user@example.org.evil.test")
    if attack == "another identity provider":  # a certificate that is not the pinned one
        value, reason = assertion(IdentityProvider.new(), **good), "signature"
    elif attack == "another Issuer":
        value, reason = assertion(idp, **good | {"issuer": "https://evil.example"}), "Issuer"
    elif attack == "another Audience":
        value, reason = assertion(idp, **good | {"audiences": ("https://x.example",)}), \
            "Audience"
    elif attack == "another Recipient":
        value, reason = assertion(idp, **good | {"recipient": "https://x.example/t"}), \
            "Recipient"
    elif attack == "expired":
        value, reason = assertion(idp, **good | {"issued_at": time.time() - 400}), ""
    elif attack == "not a bearer confirmation":
        value, reason = assertion(idp, **good | {
            "method": "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"}), "bearer"
    elif attack == "a DOCTYPE":
        xml = signed_xml(idp, **good)
        value, reason = encode(xml.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "admin">]>', 1)), \
            "DTDs"
    else:  # CVE-2017-11427: a comment must not truncate the NameID to user@example.org
        xml = signed_xml(idp, **good)
        tampered = xml.replace(b">user@example.org.evil.test<",
                               b">user@example.org<!---->.evil.test<")
        response = exchange(http, saml_client, encode(tampered))
        assert response.status_code == 200, response.text
        assert subject_of(response.json()["access_token"]) == "user@example.org.evil.test"
        with db() as session:
            assert session.get(Operator, "user@example.org") is None
        return
    description = refused(http, db, saml_client, value)
    assert description.startswith("SAML assertion refused: ") and reason in description


@pytest.mark.parametrize("name", ["XSW1", "XSW2", "XSW3", "XSW4", "XSW5", "XSW6", "XSW7",
                                  "XSW8"])
def test_signature_wrapping_is_refused_at_the_token_endpoint(
        http: TestClient, db: sessionmaker[Session], idp: IdentityProvider,
        saml_client: SamlClient, name: str) -> None:
    build, reason = ATTACKS[name]
    # the wrapping fixtures are addressed to the fixture's audience: the mapping accepts it
    with transaction(db) as session:
        from casegate.storage.models import IdentityMapping

        mapping = session.get(IdentityMapping, saml_client.mapping)
        assert mapping is not None
        mapping.audiences = ["https://127.0.0.1:8443/oauth2/token"]
    description = refused(http, db, saml_client, encode(serialize(build(genuine(idp)))))
    assert reason in description
    with db() as session:
        assert session.get(Operator, "admin") is None


def test_an_oversized_assertion_is_refused_before_parsing(
        db: sessionmaker[Session], settings: Settings, saml_client: SamlClient) -> None:
    roomy = settings.model_copy(update={"max_body_bytes": 256 * 1024})
    with TestClient(create_app(roomy), base_url=BASE_URL) as http:
        description = refused(http, db, saml_client, "A" * (64 * 1024 + 1))
    assert description == "the assertion is larger than 64 KiB"


def test_a_client_without_the_grant_or_without_authentication_is_refused(
        http: TestClient, settings: Settings, idp: IdentityProvider,
        demo: dict[str, Any]) -> None:
    value = assertion(idp, **fields(settings))
    wrong = http.post(TOKEN_PATH, data={"grant_type": SAML2_BEARER, "assertion": value},
                      auth=(demo["client_id"], demo["client_secret"]))
    assert wrong.status_code == 400 and wrong.json()["error"] == "unauthorized_client"
    anonymous = http.post(TOKEN_PATH, data={"grant_type": SAML2_BEARER, "assertion": value})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
