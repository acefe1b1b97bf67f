"""`casegate tokenprofile update` and `casegate identitymapping update`: only what is given
changes, the change is checked by the rules of create, and the token endpoint follows it."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from casegate.settings import Settings
from fixtures.assertions import JWT_BEARER, TOKEN_PATH, Issuer, jwks_of, token_endpoint
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.saml import IdentityProvider
from fixtures.served import cli

ON_SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
MODEL = "cityservices-api@casegate"
ISSUER = "https://idp.partner.example"


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return user_shell(settings)


def write_jwks(path: Path, idp: Issuer) -> str:
    path.write_text(json.dumps(jwks_of(idp.key)))
    return str(path)


@ON_SQLITE_ONLY
def test_tokenprofile_update_changes_only_what_is_given(env: dict[str, str],
                                                        tmp_path: Path) -> None:
    idp = Issuer(issuer=ISSUER)
    made = as_json(cli(env, "tokenprofile", "create", "partner", "--issuer", ISSUER,
                       "--jwks-file", write_jwks(tmp_path / "k.json", idp),
                       "--claim-check", "tenant=city", "--require-claim", "email",
                       "--claim-map", "name=name", "--json"))
    changed = as_json(cli(env, "tokenprofile", "update", "partner",
                          "--max-assertion-lifetime", "120", "--algorithm", "ES256",
                          "--claim-check", "tenant=town", "--allow-without-client", "--json"))
    assert changed == {**made, "max_assertion_lifetime": 120, "algorithms": ["ES256"],
                       "claim_checks": {"tenant": "town"}, "allow_without_client": True}
    cleared = as_json(cli(env, "tokenprofile", "update", "partner", "--clear", "claim-check",
                          "--clear", "require-claim", "--require-client", "--json"))
    assert cleared == {**changed, "claim_checks": {}, "required_claims": [],
                       "allow_without_client": False}
    assert as_json(cli(env, "tokenprofile", "show", "partner", "--json")) == cleared


@ON_SQLITE_ONLY
@pytest.mark.parametrize(("args", "phrase"), [
    (["--algorithm", "HS256"], "never none or HMAC"),
    (["--max-assertion-lifetime", "0"], "1 to 86400 seconds"),
    (["--claim-map", "role=administrator"], "operator fields"),
    (["--cacert", "{jwks}"], "--cacert goes with --jwks-url"),
    (["--clear", "issuer"], "clear one of"),
])
def test_tokenprofile_update_refuses_bad_input_and_keeps_the_profile(
        env: dict[str, str], tmp_path: Path, args: list[str], phrase: str) -> None:
    jwks = write_jwks(tmp_path / "k.json", Issuer(issuer=ISSUER))
    before = as_json(cli(env, "tokenprofile", "create", "partner", "--issuer", ISSUER,
                         "--jwks-file", jwks, "--json"))
    args = [a.format(jwks=jwks) for a in args]
    assert_fails_cleanly(cli(env, "tokenprofile", "update", "partner", *args, check=False),
                         phrase)
    assert as_json(cli(env, "tokenprofile", "show", "partner", "--json")) == before
    assert_fails_cleanly(cli(env, "tokenprofile", "update", "missing", "--issuer", ISSUER,
                             check=False), "token profile 'missing' not found")


@ON_SQLITE_ONLY
def test_new_keys_given_by_update_are_the_ones_the_grant_accepts(
        settings: Settings, http: TestClient, tmp_path: Path) -> None:
    env = user_shell(settings)
    old, new = Issuer(issuer=ISSUER), Issuer(issuer=ISSUER)
    cli(env, "tokenprofile", "create", "partner", "--issuer", ISSUER, "--jwks-file",
        write_jwks(tmp_path / "old.json", old))
    cli(env, "identitymapping", "create", "partner-people", "--type", "jwt",
        "--token-profile", "partner")
    client = as_json(cli(env, "client", "create", "--name", "Partner", "--grant", "jwt-bearer",
                         "--identity-mapping", "partner-people", "--json"))

    def exchange(idp: Issuer) -> int:
        assertion = idp.assertion(MODEL, token_endpoint(settings))
        return http.post(TOKEN_PATH, data={"grant_type": JWT_BEARER, "assertion": assertion},
                         auth=(client["client_id"], client["client_secret"])).status_code

    assert (exchange(old), exchange(new)) == (200, 400)
    cli(env, "tokenprofile", "update", "partner", "--jwks-file",
        write_jwks(tmp_path / "new.json", new))
    assert (exchange(old), exchange(new)) == (400, 200)


@ON_SQLITE_ONLY
def test_identitymapping_update_changes_only_what_is_given(env: dict[str, str],
                                                           tmp_path: Path) -> None:
    cli(env, "tokenprofile", "create", "partner", "--issuer", ISSUER, "--jwks-file",
        write_jwks(tmp_path / "k.json", Issuer(issuer=ISSUER)))
    cli(env, "tokenprofile", "create", "other", "--issuer", "https://other.example",
        "--jwks-file", write_jwks(tmp_path / "o.json", Issuer(issuer="https://other.example")))
    cli(env, "accessgroup", "create", "City:Readers", "--role", "PegaRULES:PegaAPI")
    made = as_json(cli(env, "identitymapping", "create", "people", "--type", "jwt",
                       "--token-profile", "partner", "--json"))
    provisioned = as_json(cli(env, "identitymapping", "update", "people", "--provision",
                              "--model-operator", MODEL, "--allowed-access-group",
                              "City:Readers", "--subject-claim", "email", "--json"))
    assert provisioned == {**made, "provision": True, "model_operator": MODEL,
                           "allowed_access_groups": ["City:Readers"], "subject_claim": "email"}
    moved = as_json(cli(env, "identitymapping", "update", "people", "--token-profile", "other",
                        "--json"))
    assert moved == {**provisioned, "token_profile": "other"}
    # provisioning off: its model operator and allowed groups go with it
    off = as_json(cli(env, "identitymapping", "update", "people", "--no-provision", "--json"))
    assert off == {**moved, "provision": False, "model_operator": None,
                   "allowed_access_groups": []}
    assert_fails_cleanly(cli(env, "identitymapping", "update", "people", "--attribute-map",
                             "a=name", check=False), "--subject-claim")
    assert_fails_cleanly(cli(env, "identitymapping", "update", "people", "--token-profile",
                             "missing", check=False), "token profile 'missing' not found")
    assert as_json(cli(env, "identitymapping", "show", "people", "--json")) == off


@ON_SQLITE_ONLY
def test_saml_mapping_update_keeps_its_certificates_unless_new_ones_are_given(
        env: dict[str, str], tmp_path: Path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text(IdentityProvider.new().cert_pem)
    second.write_text(IdentityProvider.new().cert_pem)
    made = as_json(cli(env, "identitymapping", "create", "city-idp", "--type", "saml",
                       "--issuer", "https://idp.city.example/saml", "--certificate",
                       str(first), "--attribute-map", "displayName=name", "--json"))
    renamed = as_json(cli(env, "identitymapping", "update", "city-idp", "--issuer",
                          "https://idp.city.example/saml2", "--clear", "attribute-map",
                          "--json"))
    assert renamed == {**made, "issuer": "https://idp.city.example/saml2", "attribute_map": {}}
    both = as_json(cli(env, "identitymapping", "update", "city-idp", "--certificate",
                       str(first), "--certificate", str(second), "--json"))
    assert both == {**renamed, "certificates": 2}
    assert_fails_cleanly(cli(env, "identitymapping", "update", "city-idp", "--subject-claim",
                             "email", check=False), "--subject-attribute")
