"""Redirect URIs are registered as exact strings: https, or http on loopback only."""

import pytest
from sqlalchemy.orm import Session, sessionmaker

from casegate.clients import service
from casegate.errors import Invalid
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import make_operator, unique

GOOD = ["https://app.example.com/callback", "http://127.0.0.1:8765/cb", "http://[::1]/cb",
        "http://localhost:3000/oauth/callback", "https://app.example.com/cb?tenant=a"]
BAD = ["http://app.example.com/cb", "https://app.example.com/cb#frag", "app.example.com/cb",
       "https://*.example.com/cb", "http://127.0.0.1.evil.example/cb", "javascript:alert(1)",
       "https://app.example.com/c b", "/relative/cb", "https://" + "a" * 2000 + ".com/"]


def create(db: sessionmaker[Session], settings: Settings, uris: list[str]) -> list[str]:
    operator = make_operator(db)
    with transaction(db) as session:
        client, _ = service.create(session, settings.hmac_key(), name=unique("c"),
                                   grants=["client_credentials"], operator_id=operator,
                                   redirect_uris=uris, lifetime=3600)
        return list(client.redirect_uris)


def test_allowed_redirect_uris_are_kept_exactly_as_given(
        db: sessionmaker[Session], settings: Settings) -> None:
    assert create(db, settings, GOOD) == GOOD


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("uri", BAD)
def test_unsafe_redirect_uris_are_refused(db: sessionmaker[Session], settings: Settings,
                                          uri: str) -> None:
    with pytest.raises(Invalid, match="redirect URI"):
        create(db, settings, [uri])
