"""`casegate tokenprofile …`, `casegate identitymapping …` and the assertion options of
`casegate client create`, as a user runs them (real subprocesses)."""

import json
from pathlib import Path
from typing import Any

import pytest
import trustme

from casegate.settings import Settings
from fixtures.assertions import jwks_of, new_key
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.saml import IdentityProvider
from fixtures.served import cli

ON_SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
TOKEN_URL = "https://127.0.0.1:8443/prweb/PRRestService/oauth2/v1/token"
MODEL = "cityservices-api@casegate"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return user_shell(settings)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    key = new_key()
    ec_key = new_key("EC")
    paths = {"jwks": tmp_path / "jwks.json", "public": tmp_path / "public.pem",
             "private": tmp_path / "private.pem", "ca": tmp_path / "ca.pem",
             "cert": tmp_path / "idp.pem", "hmac": tmp_path / "hmac.json"}
    paths["jwks"].write_text(json.dumps(jwks_of(key)))
    paths["public"].write_bytes(ec_key.as_pem(private=False))
    paths["private"].write_bytes(ec_key.as_pem(private=True))
    paths["ca"].write_bytes(trustme.CA().cert_pem.bytes())
    paths["cert"].write_text(IdentityProvider.new().cert_pem)
    paths["hmac"].write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    return paths


@ON_SQLITE_ONLY
def test_tokenprofile_create_list_and_show(env: dict[str, str], files: dict[str, Path]) -> None:
    made = as_json(cli(env, "tokenprofile", "create", "partner", "--issuer",
                       "https://idp.partner.example", "--jwks-file", str(files["jwks"]),
                       "--audience", TOKEN_URL, "--algorithm", "RS256", "--algorithm", "PS256",
                       "--max-assertion-lifetime", "120", "--claim-check", "tenant=city",
                       "--require-claim", "email", "--claim-map", "name=name",
                       "--claim-map", "groups=accessgroup", "--allow-without-client",
                       "--json"))
    kid = json.loads(files["jwks"].read_text())["keys"][0]["kid"]
    assert made == {
        "name": "partner", "kind": "processing", "issuer": "https://idp.partner.example",
        "jwks_url": None, "cacert": False, "keys": [kid], "audiences": [TOKEN_URL],
        "algorithms": ["RS256", "PS256"], "max_assertion_lifetime": 120,
        "claim_checks": {"tenant": "city"}, "required_claims": ["email"],
        "claim_map": {"name": "name", "groups": "accessgroup"}, "allow_without_client": True}
    url = as_json(cli(env, "tokenprofile", "create", "remote", "--issuer", "https://c.example",
                      "--jwks-url", "https://c.example/jwks", "--cacert", str(files["ca"]),
                      "--json"))
    # defaults: RS256, ES256, PS256; the token endpoint and the issuer URL; 300 s
    assert (url["jwks_url"], url["cacert"], url["algorithms"], url["audiences"],
            url["max_assertion_lifetime"]) == (
        "https://c.example/jwks", True, ["RS256", "ES256", "PS256"],
        [TOKEN_URL, "https://127.0.0.1:8443"], 300)
    pem = as_json(cli(env, "tokenprofile", "create", "pem", "--issuer", "https://p.example",
                      "--public-key", str(files["public"]), "--json"))
    assert pem["keys"] == ["EC"]
    assert [p["name"] for p in as_json(cli(env, "tokenprofile", "list", "--json"))] == [
        "partner", "pem", "remote"]
    assert as_json(cli(env, "tokenprofile", "show", "partner", "--json")) == made
    assert "partner" in cli(env, "tokenprofile", "show", "partner").stdout


@ON_SQLITE_ONLY
@pytest.mark.parametrize(("args", "phrase"), [
    (["--jwks-file", "{jwks}", "--public-key", "{public}"], "exactly one of"),
    (["--public-key", "{private}"], "this is a private key"),
    (["--jwks-file", "{hmac}"], "no symmetric keys"),
    (["--jwks-url", "http://c.example/jwks"], "https://"),
    (["--jwks-file", "{jwks}", "--cacert", "{ca}"], "--cacert goes with --jwks-url"),
    (["--jwks-file", "{jwks}", "--algorithm", "HS256"], "never none or HMAC"),
    (["--jwks-file", "{jwks}", "--algorithm", "none"], "never none or HMAC"),
    (["--jwks-file", "{jwks}", "--claim-map", "role=administrator"], "operator fields"),
    (["--jwks-file", "{jwks}", "--claim-check", "tenant"], "is not NAME=VALUE"),
    (["--jwks-file", "{jwks}", "--max-assertion-lifetime", "0"], "1 to 86400 seconds"),
    (["--jwks-file", "/nonexistent/jwks.json"], "cannot read"),
])
def test_tokenprofile_create_refuses_bad_input_cleanly(
        env: dict[str, str], files: dict[str, Path], args: list[str], phrase: str) -> None:
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    result = cli(env, "tokenprofile", "create", "bad", "--issuer", "https://i.example", *args,
                 check=False)
    assert_fails_cleanly(result, phrase)


@ON_SQLITE_ONLY
def test_identitymapping_create_list_and_show(env: dict[str, str],
                                              files: dict[str, Path]) -> None:
    cli(env, "tokenprofile", "create", "partner", "--issuer", "https://idp.partner.example",
        "--jwks-file", str(files["jwks"]))
    cli(env, "accessgroup", "create", "City:Readers", "--role", "PegaRULES:PegaAPI")
    jwt_mapping = as_json(cli(env, "identitymapping", "create", "partner-people", "--type",
                              "jwt", "--token-profile", "partner", "--subject-claim", "email",
                              "--provision", "--model-operator", MODEL,
                              "--allowed-access-group", "City:Readers", "--json"))
    assert jwt_mapping == {"name": "partner-people", "type": "jwt", "token_profile": "partner",
                           "subject_claim": "email", "provision": True,
                           "model_operator": MODEL, "allowed_access_groups": ["City:Readers"]}
    saml_mapping = as_json(cli(env, "identitymapping", "create", "city-idp", "--type", "saml",
                               "--issuer", "https://idp.city.example/saml", "--certificate",
                               str(files["cert"]), "--audience", TOKEN_URL,
                               "--subject-attribute", "uid", "--attribute-map",
                               "displayName=name", "--json"))
    assert saml_mapping == {"name": "city-idp", "type": "saml",
                            "issuer": "https://idp.city.example/saml", "certificates": 1,
                            "audiences": [TOKEN_URL], "subject_attribute": "uid",
                            "attribute_map": {"displayName": "name"}, "provision": False,
                            "model_operator": None, "allowed_access_groups": []}
    assert as_json(cli(env, "identitymapping", "list", "--json")) == [saml_mapping, jwt_mapping]
    assert as_json(cli(env, "identitymapping", "show", "city-idp", "--json")) == saml_mapping


@ON_SQLITE_ONLY
@pytest.mark.parametrize(("args", "phrase"), [
    (["--type", "jwt", "--token-profile", "missing"], "token profile 'missing' not found"),
    (["--type", "jwt", "--token-profile", "partner", "--provision"], "model operator"),
    (["--type", "jwt", "--token-profile", "partner", "--model-operator", MODEL],
     "go with --provision"),
    (["--type", "jwt", "--token-profile", "partner", "--provision", "--model-operator", MODEL,
      "--allowed-access-group", "No:Such"], "access group 'No:Such' not found"),
    (["--type", "jwt", "--token-profile", "partner", "--attribute-map", "a=name"],
     "--subject-claim"),
    (["--type", "saml", "--issuer", "https://idp.example"], "--certificate"),
    (["--type", "saml", "--issuer", "https://idp.example", "--certificate", "{jwks}"],
     "not a PEM X.509 certificate"),
    (["--type", "oidc"], "jwt or saml"),
])
def test_identitymapping_create_refuses_bad_input_cleanly(
        env: dict[str, str], files: dict[str, Path], args: list[str], phrase: str) -> None:
    cli(env, "tokenprofile", "create", "partner", "--issuer", "https://idp.partner.example",
        "--jwks-file", str(files["jwks"]))
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    assert_fails_cleanly(cli(env, "identitymapping", "create", "m", *args, check=False),
                         phrase)


@ON_SQLITE_ONLY
def test_client_create_for_the_assertion_grants_and_private_key_jwt(
        env: dict[str, str], files: dict[str, Path]) -> None:
    cli(env, "tokenprofile", "create", "partner", "--issuer", "https://idp.partner.example",
        "--jwks-file", str(files["jwks"]))
    cli(env, "identitymapping", "create", "people", "--type", "jwt", "--token-profile",
        "partner")
    cli(env, "identitymapping", "create", "city", "--type", "saml", "--issuer",
        "https://idp.city.example", "--certificate", str(files["cert"]))
    full = as_json(cli(env, "client", "create", "--name", "jwt", "--grant", JWT_BEARER,
                       "--identity-mapping", "people", "--json"))
    assert (full["grant_types"], full["identity_mapping"], full["auth_method"]) == (
        [JWT_BEARER], "people", "secret")
    assert len(full["client_secret"]) == 43
    short = as_json(cli(env, "client", "create", "--name", "saml", "--grant", "saml2-bearer",
                        "--identity-mapping", "city", "--json"))
    assert short["grant_types"] == [SAML2_BEARER]
    keys: dict[str, Any] = as_json(cli(
        env, "client", "create", "--name", "keys", "--operator", MODEL, "--grant",
        "client_credentials", "--jwks-file", str(files["jwks"]), "--auth-method",
        "private_key_jwt", "--json"))
    assert keys["auth_method"] == "private_key_jwt" and "client_secret" not in keys
    by_url = as_json(cli(env, "client", "create", "--name", "keys-url", "--operator", MODEL,
                         "--jwks-url", "https://app.example/jwks", "--cacert", str(files["ca"]),
                         "--auth-method", "private_key_jwt", "--json"))
    assert by_url["jwks_url"] == "https://app.example/jwks"


@ON_SQLITE_ONLY
@pytest.mark.parametrize(("args", "phrase"), [
    (["--grant", "jwt-bearer"], "needs --identity-mapping"),
    (["--grant", "saml2-bearer", "--identity-mapping", "people"], "maps jwt assertions"),
    (["--grant", "jwt-bearer", "--identity-mapping", "nobody"],
     "identity mapping 'nobody' not found"),
    (["--operator", MODEL, "--identity-mapping", "people"], "goes with the jwt-bearer"),
    (["--operator", MODEL, "--jwks-file", "{jwks}"], "go with --auth-method private_key_jwt"),
    (["--operator", MODEL, "--auth-method", "private_key_jwt"], "needs --jwks-file or"),
    (["--operator", MODEL, "--auth-method", "tls_client_auth"], "secret or "
                                                                 "private_key_jwt"),
])
def test_client_create_refuses_bad_assertion_options_cleanly(
        env: dict[str, str], files: dict[str, Path], args: list[str], phrase: str) -> None:
    cli(env, "tokenprofile", "create", "partner", "--issuer", "https://idp.partner.example",
        "--jwks-file", str(files["jwks"]))
    cli(env, "identitymapping", "create", "people", "--type", "jwt", "--token-profile",
        "partner")
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    assert_fails_cleanly(cli(env, "client", "create", "--name", "c", *args, check=False),
                         phrase)


@ON_SQLITE_ONLY
def test_help_shows_the_contracts_options(env: dict[str, str]) -> None:
    profile = cli(env, "tokenprofile", "create", "--help").stdout
    for flag in ("--issuer", "--jwks-file", "--jwks-url", "--cacert", "--public-key",
                 "--audience", "--algorithm", "--max-assertion-lifetime", "--claim-check",
                 "--require-claim", "--claim-map", "--allow-without-client", "--json"):
        assert flag in profile
    mapping = cli(env, "identitymapping", "create", "--help").stdout
    for flag in ("--type", "--token-profile", "--subject-claim", "--provision",
                 "--model-operator", "--allowed-access-group", "--issuer", "--certificate",
                 "--audience", "--subject-attribute", "--attribute-map", "--json"):
        assert flag in mapping
    client = cli(env, "client", "create", "--help").stdout
    for flag in ("--identity-mapping", "--jwks-file", "--jwks-url", "--auth-method"):
        assert flag in client
