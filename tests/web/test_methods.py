"""OPTIONS, HEAD and 405 on every kind of path: `Allow` lists every method the path has."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH, bearer, get_token


def allow(response: Any) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


# one path of each kind, and the methods a person reading the routes would list for it
KINDS = {
    "case collection (GET and POST)": (CASES_PATH, {"GET", "POST"}),
    "one case (GET and PUT)": ("/prweb/api/v1/cases/CNOW-CONNECTNOW-WORK%20REQ-1",
                               {"GET", "PUT"}),
    "DX API v2 case": ("/prweb/api/application/v2/cases/X-1", {"GET"}),
    "deny list (GET and POST)": ("/prweb/api/oauth2/v1/token/denylist", {"GET", "POST"}),
    "OAuth form endpoint (POST only)": (TOKEN_PATH, {"POST"}),
    "OAuth document (GET only)": ("/prweb/PRRestService/oauth2/v1/token/keys", {"GET"}),
    "userinfo (GET and POST)": ("/prweb/PRRestService/oauth2/v1/userinfo", {"GET", "POST"}),
    "sign-out page (GET) and its form (POST)": ("/prweb/PRRestService/oauth2/v1/logout",
                                                {"GET", "POST"}),
    "sign-in form (POST only)": ("/prweb/PRRestService/oauth2/v1/authorize/signin", {"POST"}),
    "health": ("/healthz", {"GET"}),
    "docs page": ("/docs", {"GET"}),
    "static file": ("/docs/assets/swagger-ui.css", {"GET"}),
}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind", list(KINDS))
def test_options_lists_every_method_of_the_path(http: TestClient, kind: str) -> None:
    path, methods = KINDS[kind]
    expected = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    answer = http.options(path)
    assert answer.status_code == 204, answer.text
    assert allow(answer) == expected
    assert answer.content == b""
    assert answer.headers["x-content-type-options"] == "nosniff"  # what every answer carries


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_405_carries_the_same_allow_in_the_surfaces_shape(http: TestClient) -> None:
    api = http.delete(CASES_PATH)
    assert api.status_code == 405
    assert allow(api) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert api.json()["errors"][0]["ID"] == "Pega_API_MethodNotAllowed"
    oauth = http.get(TOKEN_PATH)
    assert oauth.status_code == 405
    assert allow(oauth) == {"OPTIONS", "POST"}
    assert oauth.json()["error"] == "invalid_request"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_options_on_an_unknown_path_is_404(http: TestClient) -> None:
    assert http.options("/prweb/api/v1/nothing-here").status_code == 404


def test_head_answers_the_gets_status_and_headers_without_the_body(
        http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert created.status_code == 201
    path = f"{CASES_PATH}/{created.json()['ID']}"
    got = http.get(path, headers=bearer(token))
    head = http.head(path, headers=bearer(token))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"] == created.headers["etag"]
    assert head.headers["content-length"] == str(len(got.content))
    # refused as the GET would be
    assert http.head(path).status_code == 401
    assert http.head(f"{CASES_PATH}/NOPE%201", headers=bearer(token)).status_code == 404
