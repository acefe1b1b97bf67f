"""private_key_jwt client authentication (RFC 7523 §2.2, RFC 7521 §4.2) for clients
registered with their public keys: verified by the same code as the JWT bearer grant's
assertions (oauth/assertions.py), at the token, revocation and introspection endpoints."""

import json
import secrets
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.clients import service as clients
from casegate.oauth.server import AuthorizationServer
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.assertions import (
    CLIENT_ASSERTION_TYPE,
    JWT_BEARER,
    TOKEN_PATH,
    Issuer,
    jwks_of,
    new_key,
    token_endpoint,
    trust_issuer,
)
from fixtures.factories import CASES_PATH, SEED_BODY, bearer, make_operator, unique

INTROSPECT = "/prweb/PRRestService/oauth2/v1/token/introspect"
REVOKE = "/prweb/PRRestService/oauth2/v1/revoke"


class KeyClient:
    """A client that signs its own client assertions."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.signer = Issuer(issuer=client_id)

    def assertion(self, audience: str, **changed: Any) -> str:
        claims = self.signer.claims(self.client_id, audience) | changed
        return self.signer.sign(claims)

    def form(self, audience: str, **changed: Any) -> dict[str, str]:
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.assertion(audience, **changed)}


@pytest.fixture
def key_client(db: sessionmaker[Session], settings: Settings) -> KeyClient:
    operator = make_operator(db)
    key = new_key()
    with transaction(db) as session:
        client, secret = clients.create(
            session, settings.hmac_key(), name=unique("keys"), grants=["client_credentials"],
            operator_id=operator, auth_method="private_key_jwt",
            jwks=json.dumps(jwks_of(key)))
    assert secret == ""  # it has none
    made = KeyClient(client.client_id)
    made.signer.key = key
    return made


@pytest.fixture
def full_endpoint_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = AuthorizationServer.token

    def counted(self: AuthorizationServer, request: Any) -> Any:
        calls.append(request.form.get("grant_type", ""))
        return original(self, request)

    monkeypatch.setattr(AuthorizationServer, "token", counted)
    return calls


def test_a_client_assertion_gets_a_token_through_the_full_endpoint(
        http: TestClient, settings: Settings, key_client: KeyClient,
        full_endpoint_calls: list[str]) -> None:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials",
                                           **key_client.form(token_endpoint(settings))})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    # the token fast path declines anything but a plain client_credentials request
    assert full_endpoint_calls == ["client_credentials"]


def refused(http: TestClient, form: dict[str, str], status: int = 401) -> dict[str, Any]:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials", **form})
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


def test_a_client_assertion_signed_by_another_key_is_invalid_client(
        http: TestClient, settings: Settings, key_client: KeyClient) -> None:
    key_client.signer.key = new_key()
    assert refused(http, key_client.form(token_endpoint(settings))) == {
        "error": "invalid_client", "error_description":
        "client assertion: the assertion's signature does not verify with the trusted keys"}


def test_a_replayed_client_assertion_is_invalid_client(
        http: TestClient, settings: Settings, key_client: KeyClient) -> None:
    form = key_client.form(token_endpoint(settings))
    assert http.post(TOKEN_PATH, data={"grant_type": "client_credentials", **form}
                     ).status_code == 200
    assert refused(http, form)["error_description"] == "client assertion: it was already used"


@pytest.mark.parametrize(("changed", "description"), [
    ({"aud": "https://elsewhere.example/token"}, "the assertion's aud is not accepted"),
    ({"sub": "someone-else"}, "the assertion's sub is not accepted"),
    ({"exp": int(time.time()) - 120}, "the assertion has expired"),
])
def test_a_client_assertion_with_a_wrong_claim_is_invalid_client(
        http: TestClient, settings: Settings, key_client: KeyClient, changed: dict[str, Any],
        description: str) -> None:
    body = refused(http, key_client.form(token_endpoint(settings), **changed))
    assert body == {"error": "invalid_client",
                    "error_description": f"client assertion: {description}"}


def test_a_secret_is_no_way_in_for_a_private_key_jwt_client(
        http: TestClient, key_client: KeyClient) -> None:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                         auth=(key_client.client_id, ""))
    assert response.status_code == 401
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials",
                                           "client_id": key_client.client_id,
                                           "client_secret": secrets.token_urlsafe(32)})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_secret_client_cannot_switch_to_client_assertions(
        http: TestClient, settings: Settings, demo: dict[str, Any]) -> None:
    somebody = KeyClient(demo["client_id"])
    body = refused(http, somebody.form(token_endpoint(settings)))
    assert body["error"] == "invalid_client"


def test_two_authentication_methods_at_once_are_invalid_request(
        http: TestClient, settings: Settings, key_client: KeyClient,
        demo: dict[str, Any]) -> None:
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials",
                                           **key_client.form(token_endpoint(settings))},
                         auth=(demo["client_id"], demo["client_secret"]))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_unknown_client_assertion_type_is_invalid_request(
        http: TestClient, settings: Settings, key_client: KeyClient) -> None:
    form = key_client.form(token_endpoint(settings))
    form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    assert refused(http, form, 400)["error"] == "invalid_request"


def test_revocation_and_introspection_accept_private_key_jwt(
        http: TestClient, settings: Settings, key_client: KeyClient) -> None:
    audience = token_endpoint(settings)
    token = http.post(TOKEN_PATH, data={"grant_type": "client_credentials",
                                        **key_client.form(audience)}).json()["access_token"]
    seen = http.post(INTROSPECT, data={"token": token, **key_client.form(audience)}).json()
    assert seen["active"] is True and seen["client_id"] == key_client.client_id
    assert http.post(REVOKE, data={"token": token, **key_client.form(audience)}
                     ).status_code == 200
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 401


def test_the_jwt_bearer_grant_with_private_key_jwt_client_authentication(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    """Pega's remote case types: the consumer signs both its client assertion and the
    operator's assertion."""
    idp = Issuer()
    trusted = trust_issuer(db, settings, idp, with_client=False)
    key = new_key("EC")
    with transaction(db) as session:
        client, _ = clients.create(
            session, settings.hmac_key(), name=unique("consumer"), grants=["jwt-bearer"],
            operator_id=None, identity_mapping=trusted.mapping, auth_method="private_key_jwt",
            jwks=json.dumps(jwks_of(key)))
    consumer = KeyClient(client.client_id)
    consumer.signer.key = key
    audience = token_endpoint(settings)
    response = http.post(TOKEN_PATH, data={
        "grant_type": JWT_BEARER, "assertion": idp.assertion("remote@city.example", audience),
        **consumer.form(audience)})
    assert response.status_code == 200, response.text
