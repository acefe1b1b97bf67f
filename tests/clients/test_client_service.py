"""Client registrations as the CLI, the console and the OAuth server all see them."""

import base64
import hashlib
import hmac
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.clients import service
from casegate.errors import Conflict, Invalid, NotFound
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import ClientRegistration
from fixtures.factories import make_operator, make_registration, unique

LIFETIME_MESSAGE = "the token lifetime must be a positive whole number of seconds"


def hmac_sha256(key: bytes, secret: str) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def stored(db: sessionmaker[Session], client_id: str) -> ClientRegistration:
    with db() as session:
        client = session.get(ClientRegistration, client_id)
        assert client is not None
        return client


def registrations_named(db: sessionmaker[Session], name: str) -> list[ClientRegistration]:
    with db() as session:
        return list(session.scalars(select(ClientRegistration)
                                    .where(ClientRegistration.name == name)))


def test_client_ids_are_unique_twenty_digit_numbers(db: sessionmaker[Session],
                                                    settings: Settings) -> None:
    operator = make_operator(db)
    ids = [make_registration(db, settings, operator=operator)[0].client_id for _ in range(5)]
    assert len(set(ids)) == 5
    for client_id in ids:
        assert re.fullmatch(r"[0-9]{20}", client_id), client_id


def test_secret_has_256_bits_and_differs_per_client(db: sessionmaker[Session],
                                                    settings: Settings) -> None:
    _, first = make_registration(db, settings)
    _, second = make_registration(db, settings)
    for secret in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), secret
        assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert first != second


def test_only_the_secrets_keyed_hash_is_stored(db: sessionmaker[Session],
                                               settings: Settings) -> None:
    client, secret = make_registration(db, settings)
    secret_hash = stored(db, client.client_id).secret_hash
    assert secret not in secret_hash
    assert secret_hash == hmac_sha256(settings.hmac_key(), secret)
    assert secret_hash != hashlib.sha256(secret.encode()).hexdigest()  # keyed, not bare


@pytest.mark.parametrize("lifetime", ["120", 120])
def test_lifetime_accepts_a_positive_whole_number(db: sessionmaker[Session], settings: Settings,
                                                  lifetime: object) -> None:
    operator = make_operator(db)
    with transaction(db) as session:
        client, _ = service.create(session, settings.hmac_key(), name=unique("client"),
                                   grants=["client_credentials"], operator_id=operator,
                                   lifetime=lifetime)
    assert stored(db, client.client_id).token_lifetime == 120


@pytest.mark.parametrize("lifetime", [
    "0", "-5", "abc", "1.5", "", 0, -1, True, 1.5, None,
    pytest.param("²", id="superscript-two"), pytest.param("٣", id="arabic-indic-three"),
])
def test_lifetime_must_be_a_positive_whole_number(db: sessionmaker[Session], settings: Settings,
                                                  lifetime: object) -> None:
    operator = make_operator(db)
    name = unique("client")
    with pytest.raises(Invalid) as refused, transaction(db) as session:
        service.create(session, settings.hmac_key(), name=name,
                       grants=["client_credentials"], operator_id=operator, lifetime=lifetime)
    assert refused.value.field == "lifetime"
    assert LIFETIME_MESSAGE in refused.value.message
    assert registrations_named(db, name) == []


def test_a_person_cannot_be_the_operator_of_a_client(db: sessionmaker[Session],
                                                     settings: Settings) -> None:
    person = make_operator(db, kind="person", password="correct horse battery staple")
    name = unique("client")
    with pytest.raises(Invalid) as refused, transaction(db) as session:
        service.create(session, settings.hmac_key(), name=name,
                       grants=["client_credentials"], operator_id=person, lifetime=60)
    assert refused.value.field == "operator"
    assert f"{person} can log in" in refused.value.message
    assert registrations_named(db, name) == []


def test_unknown_operator_is_not_found(db: sessionmaker[Session], settings: Settings) -> None:
    with pytest.raises(NotFound) as refused, transaction(db) as session:
        service.create(session, settings.hmac_key(), name=unique("client"),
                       grants=["client_credentials"], operator_id="nobody@test", lifetime=60)
    assert refused.value.key == "nobody@test"


def test_unknown_grant_type_is_invalid(db: sessionmaker[Session], settings: Settings) -> None:
    operator = make_operator(db)
    with pytest.raises(Invalid) as refused, transaction(db) as session:
        service.create(session, settings.hmac_key(), name=unique("client"),
                       grants=["client_credentials", "telepathy"], operator_id=operator,
                       lifetime=60)
    assert refused.value.field == "grant"
    assert "telepathy" in refused.value.message


def test_names_are_unique(db: sessionmaker[Session], settings: Settings) -> None:
    client, _ = make_registration(db, settings)
    with pytest.raises(Conflict), transaction(db) as session:
        service.create(session, settings.hmac_key(), name=client.name,
                       grants=["client_credentials"], operator_id=client.operator_id,
                       lifetime=60)
    assert len(registrations_named(db, client.name)) == 1


def test_save_as_copies_settings_with_its_own_id_and_secret(db: sessionmaker[Session],
                                                            settings: Settings) -> None:
    source, source_secret = make_registration(db, settings, lifetime=120, scopes=["cases"])
    name = unique("copy")
    with transaction(db) as session:
        copy, copy_secret = service.save_as(session, settings.hmac_key(), source.client_id, name)
    saved = stored(db, copy.client_id)
    assert saved.name == name
    assert saved.client_id != source.client_id
    assert re.fullmatch(r"[0-9]{20}", saved.client_id)
    assert copy_secret != source_secret
    assert saved.secret_hash == hmac_sha256(settings.hmac_key(), copy_secret)
    assert saved.grant_types == ["client_credentials"]
    assert saved.operator_id == source.operator_id
    assert saved.token_lifetime == 120
    assert saved.scopes == ["cases"]
    # the source keeps its own secret
    assert stored(db, source.client_id).secret_hash == hmac_sha256(settings.hmac_key(),
                                                                   source_secret)


def test_regenerated_secret_replaces_the_old_one(db: sessionmaker[Session],
                                                 settings: Settings) -> None:
    client, old = make_registration(db, settings)
    with transaction(db) as session:
        new = service.regenerate_secret(session, settings.hmac_key(), client.client_id)
    assert new != old
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", new)
    secret_hash = stored(db, client.client_id).secret_hash
    assert secret_hash == hmac_sha256(settings.hmac_key(), new)
    assert secret_hash != hmac_sha256(settings.hmac_key(), old)


def test_regenerating_an_unknown_client_is_not_found(db: sessionmaker[Session],
                                                     settings: Settings) -> None:
    with pytest.raises(NotFound), transaction(db) as session:
        service.regenerate_secret(session, settings.hmac_key(), "00000000000000000000")


def test_credentials_file_names_id_secret_and_endpoints(db: sessionmaker[Session],
                                                        settings: Settings) -> None:
    client, secret = make_registration(db, settings)
    base = "https://cases.example.org:9443"
    lines = service.credentials_file(client, secret, base).splitlines()
    assert f"Client ID: {client.client_id}" in lines
    assert f"Client Secret: {secret}" in lines
    assert ("Access token endpoint: "
            "https://cases.example.org:9443/prweb/PRRestService/oauth2/v1/token") in lines
    assert ("Token revocation endpoint: "
            "https://cases.example.org:9443/prweb/PRRestService/oauth2/v1/revoke") in lines
