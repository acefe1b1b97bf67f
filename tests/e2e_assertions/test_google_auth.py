"""Real clients, unmodified, against a served casegate over HTTPS: google-auth's
service-account credentials exchange their JWT (no jti, an hour's lifetime) at casegate's
token endpoint, refresh, and call the case API; with no client registration (a token profile
with --allow-without-client) and with one (its secret as HTTP Basic on the session)."""

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.auth.transport.requests
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account
from joserfc.jwk import RSAKey

from fixtures.assertions import JWT_BEARER, Issuer
from fixtures.factories import CASES_PATH, SEED_BODY
from fixtures.served import Served, cli

TOKEN = "/prweb/PRRestService/oauth2/v1/token"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[Served]:
    """One served casegate per engine for this module: each test trusts its own issuer and
    makes its own clients, under names no other test uses."""
    server = Served(tmp_path_factory.mktemp("served") / "home", module_database_url)
    server.start()
    yield server
    server.stop()


class ServiceAccount:
    """A Google-style service account: its key file, and the JWKS casegate trusts it with."""

    def __init__(self, token_uri: str) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_hex(20)
        self.email = f"robot-{secrets.token_hex(3)}@casegate-tests.iam.gserviceaccount.com"
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        self.info = {"type": "service_account", "project_id": "casegate-tests",
                     "private_key_id": self.key_id, "private_key": pem,
                     "client_email": self.email, "client_id": "1", "token_uri": token_uri}
        public = RSAKey.import_key(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            {"kid": self.key_id, "use": "sig"})
        self.jwks = {"keys": [dict(public.as_dict(private=False))]}

    def credentials(self, subject: str) -> service_account.Credentials:
        token_uri = self.info["token_uri"]
        # google-auth addresses its assertion to Google's endpoint unless told otherwise
        return service_account.Credentials.from_service_account_info(
            self.info, scopes=["cases"], subject=subject,
            additional_claims={"aud": token_uri})


def unverified_claims(token: str) -> dict[str, Any]:
    """What jwt.io shows of a token's payload."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def trust(served: Served, account: ServiceAccount, tmp_path: Path, *flags: str) -> str:
    """`casegate tokenprofile create` and `identitymapping create`, as an administrator
    would type them; returns the mapping's name."""
    jwks = tmp_path / f"{account.key_id}.json"
    jwks.write_text(json.dumps(account.jwks))
    name = account.email.split("@")[0]
    cli(served.env, "tokenprofile", "create", name, "--issuer", account.email,
        "--jwks-file", str(jwks), "--max-assertion-lifetime", "3600", *flags, "--json")
    cli(served.env, "identitymapping", "create", name, "--type", "jwt", "--token-profile",
        name, "--provision", "--model-operator", "cityservices-api@casegate", "--json")
    return name


def transport(served: Served, auth: tuple[str, str] | None = None) -> requests.Session:
    session = requests.Session()
    # trust exactly casegate's certificate: the environment's REQUESTS_CA_BUNDLE, if any,
    # would otherwise replace `verify` on every request
    session.trust_env = False
    session.verify = served.cacert
    session.auth = auth
    return session


def create_case(served: Served, credentials: service_account.Credentials,
                session: requests.Session) -> Any:
    authed = google.auth.transport.requests.AuthorizedSession(
        credentials, auth_request=google.auth.transport.requests.Request(session))
    authed.trust_env = False
    authed.verify = served.cacert
    return authed.post(served.url + CASES_PATH, json=SEED_BODY, timeout=30)


def test_google_auth_without_a_client_registration(served: Served, tmp_path: Path) -> None:
    account = ServiceAccount(served.url + TOKEN)
    trust(served, account, tmp_path, "--allow-without-client")
    credentials = account.credentials("alice@city.example")
    session = transport(served)
    credentials.refresh(google.auth.transport.requests.Request(session))
    first = credentials.token
    assert credentials.valid and first
    # google-auth sends no jti, so replay is keyed by the assertion's digest: a second
    # assertion made within the same second (same iat, same exp) is the same bytes, a replay
    time.sleep(1 - time.time() % 1 + 0.05)
    credentials.refresh(google.auth.transport.requests.Request(session))
    assert credentials.token != first
    created = create_case(served, credentials, session)
    assert created.status_code == 201, created.text
    claims = unverified_claims(first)
    assert claims["sub"] == "alice@city.example" and claims["client_id"] == account.email


def test_google_auth_with_a_client_registration(served: Served, tmp_path: Path) -> None:
    account = ServiceAccount(served.url + TOKEN)
    mapping = trust(served, account, tmp_path)
    client = json.loads(cli(served.env, "client", "create", "--name", "robots", "--grant",
                            "urn:ietf:params:oauth:grant-type:jwt-bearer",
                            "--identity-mapping", mapping, "--json").stdout)
    credentials = account.credentials("bob@city.example")
    # without the client's secret the issuer's assertions are not enough
    with pytest.raises(Exception, match="invalid_client"):
        credentials.refresh(google.auth.transport.requests.Request(transport(served)))
    session = transport(served, (client["client_id"], client["client_secret"]))
    credentials.refresh(google.auth.transport.requests.Request(session))
    assert credentials.valid
    created = create_case(served, credentials, session)
    assert created.status_code == 201, created.text


def test_an_assertion_grant_through_a_served_casegate_reaches_the_full_endpoint(
        served: Served, tmp_path: Path) -> None:
    """A client allowed both client_credentials and jwt-bearer: the token fast path answers
    only the first; the assertion grant's token acts as the mapped person, not the client's
    service operator."""
    idp = Issuer()
    jwks = tmp_path / "idp.json"
    jwks.write_text(json.dumps({"keys": [dict(idp.key.as_dict(private=False))]}))
    cli(served.env, "tokenprofile", "create", "idp", "--issuer", idp.issuer, "--jwks-file",
        str(jwks))
    cli(served.env, "identitymapping", "create", "people", "--type", "jwt", "--token-profile",
        "idp", "--provision", "--model-operator", "cityservices-api@casegate")
    client = json.loads(cli(
        served.env, "client", "create", "--name", "both", "--operator",
        "cityservices-api@casegate", "--grant", "client_credentials", "--grant", "jwt-bearer",
        "--identity-mapping", "people", "--json").stdout)
    auth = (client["client_id"], client["client_secret"])
    with served.client() as http:
        plain = http.post(TOKEN, data={"grant_type": "client_credentials"}, auth=auth)
        assertion = idp.assertion("carol@city.example", served.url + TOKEN)
        exchanged = http.post(TOKEN, data={"grant_type": JWT_BEARER, "assertion": assertion},
                              auth=auth)
    assert plain.status_code == 200 and exchanged.status_code == 200, exchanged.text
    assert unverified_claims(plain.json()["access_token"])["sub"] == "cityservices-api@casegate"
    assert unverified_claims(exchanged.json()["access_token"])["sub"] == "carol@city.example"
