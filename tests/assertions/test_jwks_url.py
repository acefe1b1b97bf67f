"""JWKS URLs: fetched over HTTPS with certificate verification (a private CA named with
--cacert here), a timeout and a size cap, cached, refetched for an unknown kid at most once a
minute; a fetch failure is invalid_grant, never a 500."""

from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import trust
from casegate.errors import Invalid
from casegate.oauth import jwks_fetch
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.assertions import (
    JWT_BEARER,
    TOKEN_PATH,
    Issuer,
    Trusted,
    jwks_of,
    new_key,
    token_endpoint,
    trust_issuer,
)
from fixtures.factories import make_operator
from fixtures.jwks_server import JwksServer


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def jwks_server(ca: trustme.CA) -> Iterator[JwksServer]:
    server = JwksServer(ca).start()
    yield server
    server.stop()


@pytest.fixture
def idp(jwks_server: JwksServer) -> Issuer:
    idp = Issuer()
    jwks_server.document = jwks_of(idp.key)
    return idp


@pytest.fixture
def trusted(db: sessionmaker[Session], settings: Settings, idp: Issuer,
            jwks_server: JwksServer, ca: trustme.CA) -> Trusted:
    return trust_issuer(db, settings, idp, jwks_url=jwks_server.url,
                        cacert=ca.cert_pem.bytes().decode())


@pytest.fixture
def person(db: sessionmaker[Session]) -> str:
    return make_operator(db, kind="person", password="pw-123456789")


def exchange(http: TestClient, trusted: Trusted, assertion: str) -> Any:
    return http.post(TOKEN_PATH, data={"grant_type": JWT_BEARER, "assertion": assertion},
                     auth=(trusted.client_id, trusted.secret))


def refused_with(http: TestClient, trusted: Trusted, assertion: str) -> str:
    response = exchange(http, trusted, assertion)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
    return str(response.json()["error_description"])


def test_keys_from_a_jwks_url_with_a_private_ca_are_fetched_once_and_cached(
        http: TestClient, trusted: Trusted, idp: Issuer, person: str, settings: Settings,
        jwks_server: JwksServer) -> None:
    for _ in range(2):
        response = exchange(http, trusted, idp.assertion(person, token_endpoint(settings)))
        assert response.status_code == 200, response.text
    assert jwks_server.fetches == 1


def test_certificates_are_verified_against_the_system_store_without_cacert(
        http: TestClient, db: sessionmaker[Session], settings: Settings, idp: Issuer,
        person: str, jwks_server: JwksServer) -> None:
    trusted = trust_issuer(db, settings, idp, jwks_url=jwks_server.url)
    description = refused_with(http, trusted, idp.assertion(person, token_endpoint(settings)))
    assert description == "the JWKS could not be fetched (ConnectError)"


def test_a_jwks_url_must_be_https(db: sessionmaker[Session], idp: Issuer) -> None:
    with pytest.raises(Invalid, match="https"), transaction(db) as session:
        trust.create_profile(session, "plain", issuer=idp.issuer,
                             jwks_url="http://127.0.0.1/jwks.json")


@pytest.mark.parametrize("failure", ["status 500", "too large", "not JSON", "unreachable"])
def test_a_failing_jwks_url_is_invalid_grant(
        http: TestClient, db: sessionmaker[Session], settings: Settings, idp: Issuer,
        person: str, jwks_server: JwksServer, ca: trustme.CA, failure: str) -> None:
    url = jwks_server.url
    if failure == "status 500":
        jwks_server.status = 500
    elif failure == "too large":
        jwks_server.body = b'{"keys": [' + b" " * (jwks_fetch.MAX_BYTES + 1) + b"]}"
    elif failure == "not JSON":
        jwks_server.body = b"<html>"
    else:
        jwks_server.stop()
    trusted = trust_issuer(db, settings, idp, jwks_url=url, cacert=ca.cert_pem.bytes().decode())
    description = refused_with(http, trusted, idp.assertion(person, token_endpoint(settings)))
    assert description == {"status 500": "the JWKS URL answered 500",
                           "too large": "the JWKS is too large",
                           "not JSON": "the JWKS is not JSON",
                           "unreachable": "the JWKS could not be fetched (ConnectError)"}[failure]


def test_an_unknown_kid_refetches_at_most_once_a_minute(
        http: TestClient, trusted: Trusted, idp: Issuer, person: str, settings: Settings,
        jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert exchange(http, trusted, idp.assertion(person, token_endpoint(settings))
                    ).status_code == 200
    # the issuer rotates its key: the new kid is not in the cached JWKS
    idp.key = new_key()
    jwks_server.document = jwks_of(idp.key)
    for _ in range(3):  # within the minute: no refetch, however many unknown kids arrive
        description = refused_with(http, trusted, idp.assertion(person, token_endpoint(settings)))
        assert description == ("the assertion's signature does not verify with the trusted "
                               "keys")
    assert jwks_server.fetches == 1
    started = jwks_fetch.clock()
    monkeypatch.setattr(jwks_fetch, "clock", lambda: started + jwks_fetch.REFETCH_EVERY + 1)
    assert exchange(http, trusted, idp.assertion(person, token_endpoint(settings))
                    ).status_code == 200
    assert jwks_server.fetches == 2


def test_a_private_key_jwt_client_with_a_jwks_url(
        http: TestClient, db: sessionmaker[Session], settings: Settings,
        jwks_server: JwksServer, ca: trustme.CA) -> None:
    from casegate.clients import service as clients
    from fixtures.assertions import CLIENT_ASSERTION_TYPE
    from fixtures.factories import unique

    operator = make_operator(db)
    with transaction(db) as session:
        client, _ = clients.create(
            session, settings.hmac_key(), name=unique("keys"), grants=["client_credentials"],
            operator_id=operator, auth_method="private_key_jwt", jwks_url=jwks_server.url,
            cacert=ca.cert_pem.bytes().decode())
    signer = Issuer(issuer=client.client_id)
    jwks_server.document = jwks_of(signer.key)
    response = http.post(TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": signer.assertion(client.client_id, token_endpoint(settings))})
    assert response.status_code == 200, response.text
    assert jwks_server.fetches == 1
