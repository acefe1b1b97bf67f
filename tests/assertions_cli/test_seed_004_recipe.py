"""README's seed-004 recipe, command for command: people with no operator yet get one just in
time, with the entitlement their JWT carries (among the allowed groups only)."""

from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from fastapi.testclient import TestClient

from casegate.settings import Settings
from fixtures.assertions import JWT_BEARER, TOKEN_PATH, Issuer, jwks_of, token_endpoint
from fixtures.commands import as_json, user_shell
from fixtures.factories import CASES_PATH, SEED_BODY, bearer
from fixtures.jwks_server import JwksServer
from fixtures.served import cli


@pytest.fixture
def jwks_server(tmp_path: Any) -> Iterator[tuple[JwksServer, str]]:
    ca = trustme.CA()
    server = JwksServer(ca).start()
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.cert_pem.bytes())
    yield server, str(path)
    server.stop()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_seed_004_recipe(settings: Settings, http: TestClient,
                             jwks_server: tuple[JwksServer, str]) -> None:
    server, cacert = jwks_server
    idp = Issuer(issuer="https://idp.city.example")
    server.document = jwks_of(idp.key)
    env = user_shell(settings)
    for command in (
        ["accessgroup", "create", "City:Residents", "--role", "PegaRULES:PegaAPI"],
        ["accessgroup", "create", "City:Inspectors", "--role", "PegaRULES:PegaAPI"],
        ["operator", "create", "resident-model@city", "--access-group", "City:Residents"],
        ["operator", "disable", "resident-model@city"],
        # the README's URL is the identity provider's; here a private CA serves it
        ["tokenprofile", "create", "city-idp", "--issuer", "https://idp.city.example",
         "--jwks-url", server.url, "--cacert", cacert,
         "--claim-check", "tenant=city", "--require-claim", "email",
         "--claim-map", "name=name", "--claim-map", "email=email",
         "--claim-map", "entitlement=accessgroup"],
        ["identitymapping", "create", "city-people", "--type", "jwt", "--token-profile",
         "city-idp", "--provision", "--model-operator", "resident-model@city",
         "--allowed-access-group", "City:Inspectors"],
    ):
        cli(env, *command)
    client = as_json(cli(env, "client", "create", "--name", "City portal", "--grant",
                         "jwt-bearer", "--identity-mapping", "city-people", "--json"))
    auth = (client["client_id"], client["client_secret"])

    def exchange(subject: str, **claims: Any) -> Any:
        assertion = idp.assertion(subject, token_endpoint(settings), tenant="city",
                                  email=subject, **claims)
        return http.post(TOKEN_PATH, data={"grant_type": JWT_BEARER, "assertion": assertion},
                         auth=auth)

    maria = exchange("maria@city.example", name="Maria Lopez", entitlement="City:Inspectors")
    assert maria.status_code == 200, maria.text
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(maria.json()["access_token"]))
    assert created.status_code == 201, created.text
    operators = {o["operator"]: o for o in as_json(cli(env, "operator", "list", "--json"))}
    assert operators["maria@city.example"]["access_group"] == "City:Inspectors"
    assert operators["maria@city.example"]["name"] == "Maria Lopez"
    assert operators["maria@city.example"]["enabled"] is True
    # no entitlement claim: the model's group
    assert exchange("tom@city.example").status_code == 200
    assert {o["operator"]: o for o in as_json(cli(env, "operator", "list", "--json"))}[
        "tom@city.example"]["access_group"] == "City:Residents"
    # an identity provider cannot grant an administrator's group
    refused = exchange("eve@city.example", entitlement="Casegate:Administrators")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
