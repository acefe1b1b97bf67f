"""The seeds' walkthrough, verbatim, against a served casegate over real HTTPS."""

import base64
import json
import re
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from fixtures.served import Served

SEED_BODY = (
    '{"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest", "processID": "pyStartCase", '
    '"content": {"RequestID": "FT123", "RequestDetail": "faster trains, please!"}}'
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[Served]:
    """One served casegate per engine for this module (the TLS test changes nothing)."""
    server = Served(tmp_path_factory.mktemp("served") / "home", module_database_url)
    server.start()
    yield server
    server.stop()


def read_credentials_file(path: str) -> dict[str, str]:
    lines = Path(path).read_text().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def jwt_io_decode(token: str) -> tuple[dict[str, object], dict[str, object]]:
    """What jwt.io shows: the two base64url JSON parts, read without any casegate code."""
    def part(segment: str) -> dict[str, object]:
        return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))
    header, payload, _ = token.split(".")
    return part(header), part(payload)


def test_walkthrough(served: Served) -> None:
    creds = read_credentials_file(served.demo["credentials_file"])
    assert creds["Access token endpoint"] == served.url + "/prweb/PRRestService/oauth2/v1/token"
    assert creds["Token revocation endpoint"] == served.url + "/prweb/PRRestService/oauth2/v1/revoke"

    with served.client() as web:
        # Postman, "No Auth": client_id, client_secret and grant_type in a form body
        answer = web.post(creds["Access token endpoint"], data={
            "client_id": creds["Client ID"], "client_secret": creds["Client Secret"],
            "grant_type": "client_credentials"})
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        token = answer.json()
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 3600

        header, claims = jwt_io_decode(token["access_token"])
        assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
        assert claims["sub"] == "cityservices-api@casegate"
        assert claims["client_id"] == creds["Client ID"]
        assert claims["iss"] == served.url
        assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]

        # the signature verifies against the published JWKS
        jwks = web.get("/prweb/PRRestService/oauth2/v1/token/keys").json()
        verified = jwt.decode(token["access_token"], KeySet.import_key_set(jwks),
                              algorithms=["ES256"])
        assert verified.claims["sub"] == "cityservices-api@casegate"

        auth = {"Authorization": f"Bearer {token['access_token']}",
                "Content-Type": "application/json"}
        created = web.post("/prweb/api/v1/cases", content=SEED_BODY, headers=auth)
        assert created.status_code == 201
        case = created.json()
        assert re.fullmatch(r"CNOW-CONNECTNOW-WORK REQ-\d+", case["ID"])
        assert case["pxObjClass"] == "Pega-API-CaseManagement-Case"
        assert case["nextAssignmentID"] == f"ASSIGN-WORKLIST {case['ID']}!STARTCASE_FLOW"
        assert case["nextPageID"] == "Perform"

        shown = web.get(f"/prweb/api/v1/cases/{quote(case['ID'])}", headers=auth)
        assert shown.status_code == 200
        assert shown.json()["content"] == {"RequestID": "FT123",
                                           "RequestDetail": "faster trains, please!"}

        revoked = web.post(creds["Token revocation endpoint"], data={
            "token": token["access_token"]}, auth=(creds["Client ID"], creds["Client Secret"]))
        assert revoked.status_code == 200

        after = web.post("/prweb/api/v1/cases", content=SEED_BODY, headers=auth)
        assert after.status_code == 401
        assert 'error="invalid_token"' in after.headers["www-authenticate"]


def test_tls_1_1_is_refused_and_1_2_accepted(served: Served) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(served.cacert)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1_1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(httpx.ConnectError) as refused:
        httpx.get(served.url + "/healthz", verify=old)
    # the server refused the hello (alert or hang-up), not a client that could not offer 1.1
    message = str(refused.value).upper()
    assert "PROTOCOL_VERSION" in message or "UNEXPECTED_EOF" in message, message
    modern = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    modern.load_verify_locations(served.cacert)
    modern.maximum_version = ssl.TLSVersion.TLSv1_2
    assert httpx.get(served.url + "/healthz", verify=modern).status_code == 200
