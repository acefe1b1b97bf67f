"""RS256 as well as ES256; a rotated-out key keeps verifying the tokens it signed."""

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from casegate import bootstrap
from casegate.app import create_app
from casegate.crypto import Sealer
from casegate.oauth import keys
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory, transaction
from fixtures.factories import CASES_PATH, SEED_BODY, bearer, get_token
from oauth.jwt_parts import header_of, verify_with_cryptography

KEYS_PATH = "/prweb/PRRestService/oauth2/v1/token/keys"


@pytest.mark.parametrize("alg, kty", [("RS256", "RSA"), ("ES256", "EC")])
def test_tokens_are_signed_with_the_configured_algorithm(
        tmp_path: Path, database_url: str, alg: str, kty: str) -> None:
    settings = Settings(home=tmp_path / "home", database_url=database_url, signing_alg=alg)
    demo = bootstrap.init(settings, demo=True)["demo"]
    with TestClient(create_app(settings), base_url="https://127.0.0.1:8443") as http:
        token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
        jwks = http.get(KEYS_PATH).json()
        assert [k["kty"] for k in jwks["keys"]] == [kty]
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg])
        assert decoded.header == {"typ": "at+jwt", "alg": alg, "kid": jwks["keys"][0]["kid"]}
        assert header_of(token) == decoded.header
        # a verifier sharing no code with casegate's signer or joserfc agrees
        assert verify_with_cryptography(token, jwks) == decoded.claims
        assert decoded.claims["sub"] == demo["operator"]
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        with pytest.raises(InvalidSignature):
            verify_with_cryptography(forged, jwks)
        assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201


def test_after_rotation_old_tokens_verify_and_new_ones_use_the_new_key(
        settings: Settings, demo: dict[str, str], http: TestClient) -> None:
    old = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    engine = make_engine(settings.db_url)
    with transaction(session_factory(engine)) as session:
        row = keys.rotate(session, settings, Sealer(settings.hmac_key()), "ES256")
        assert row is not None
        new_kid = row.kid
    engine.dispose()
    http.app.state.runtime.keys.load()  # a process reloads within 30 s; this one at once
    new = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert jwt.decode(new, KeySet.import_key_set(http.get(KEYS_PATH).json()),
                      algorithms=["ES256"]).header["kid"] == new_kid
    assert len(http.get(KEYS_PATH).json()["keys"]) == 2
    for token in (old, new):
        assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
