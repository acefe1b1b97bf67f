"""/openapi.json and /docs describe every endpoint with its security scheme."""

from typing import Any

from fastapi.testclient import TestClient

# each bearer route, and the scope its token needs (README: "Scopes")
CASE_PATHS = {
    ("post", "/prweb/api/v1/cases"): "cases", ("get", "/prweb/api/v1/cases"): "cases",
    ("get", "/prweb/api/v1/cases/{case_id}"): "cases",
    ("put", "/prweb/api/v1/cases/{case_id}"): "cases",
    ("get", "/prweb/api/v1/casetypes"): "casetypes",
    ("post", "/prweb/api/application/v2/cases"): "cases",
    ("get", "/prweb/api/application/v2/cases/{case_id}"): "cases",
}
BEARER_PATHS = CASE_PATHS | {
    ("get", "/prweb/api/oauth2/v1/token/denylist"): "casegate:admin",
    ("post", "/prweb/api/oauth2/v1/token/denylist"): "casegate:admin",
    ("get", "/prweb/PRRestService/oauth2/v1/userinfo"): "openid",
    ("post", "/prweb/PRRestService/oauth2/v1/userinfo"): "openid",
}


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in doc["paths"].items()
            for method, op in item.items()}


def test_every_bearer_endpoint_requires_oauth2_with_its_scope(
        http: TestClient, demo: dict[str, Any]) -> None:
    doc = http.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["OAuth2ClientCredentials"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == \
        "/prweb/PRRestService/oauth2/v1/token"
    ops = operations(doc)
    assert set(CASE_PATHS) <= set(ops)
    # every bearer route names the scope its token needs (OpenAPI's security requirement)
    for key, scope in BEARER_PATHS.items():
        assert ops[key]["security"] == [{"OAuth2ClientCredentials": [scope]}], key
    # and no route of the API (one added later too) takes a token without naming a scope
    for (method, path), op in ops.items():
        if path.startswith("/prweb/api/"):
            [requirement] = op["security"]
            assert len(requirement["OAuth2ClientCredentials"]) == 1, (method, path)


def test_oauth_endpoints_are_documented_with_form_bodies_and_basic_auth(
        http: TestClient, demo: dict[str, Any]) -> None:
    doc = http.get("/openapi.json").json()
    ops = operations(doc)
    token = ops[("post", "/prweb/PRRestService/oauth2/v1/token")]
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    # one schema per grant type, for every grant type the server says it supports
    branches = {b["properties"]["grant_type"]["const"]: b for b in form["oneOf"]}
    supported = http.get("/.well-known/oauth-authorization-server").json()
    assert set(branches) == set(supported["grant_types_supported"])
    assert all("grant_type" in b["required"] for b in branches.values())
    assert "code" in branches["authorization_code"]["required"]
    assert {"username", "password"} <= set(branches["password"]["required"])
    assert {"clientBasic": []} in token["security"]
    assert doc["components"]["securitySchemes"]["clientBasic"]["scheme"] == "basic"
    for path in ("/prweb/PRRestService/oauth2/v1/revoke",
                 "/prweb/PRRestService/oauth2/v1/token/introspect"):
        assert "token" in ops[("post", path)]["requestBody"]["content"][
            "application/x-www-form-urlencoded"]["schema"]["properties"]


def test_docs_page_loads_swagger_ui_from_this_server_only(
        http: TestClient, demo: dict[str, Any]) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text
    assert "https://" not in page.text  # no CDN: works offline, no third-party script
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        response = http.get(asset)
        assert response.status_code == 200 and len(response.content) > 10_000, asset


def test_every_documented_answer_has_its_schema_and_every_error_its_surfaces_shape(
        http: TestClient, demo: dict[str, Any]) -> None:
    doc = http.get("/openapi.json").json()
    for (method, path), op in operations(doc).items():
        assert "422" not in op["responses"], (method, path)  # casegate answers 400 instead
        for status, answer in op["responses"].items():
            for media, content in answer.get("content", {}).items():
                assert content.get("schema"), (method, path, status, media)
            if status.startswith(("4", "5")) and path != "/readyz":
                shape = ("PegaErrors" if path.startswith("/prweb/api/") else "OAuthError")
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == f"#/components/schemas/{shape}", (method, path, status)
                assert shape in doc["components"]["schemas"]
    ops = operations(doc)
    for key in CASE_PATHS:
        assert {"400", "401", "403", "503"} <= set(ops[key]["responses"]), key
        assert "WWW-Authenticate" in ops[key]["responses"]["401"]["headers"], key
    assert {"404", "412", "428"} <= set(ops[("put", "/prweb/api/v1/cases/{case_id}")][
        "responses"])
    for path in ("/prweb/PRRestService/oauth2/v1/token", "/prweb/PRRestService/oauth2/v1/revoke",
                 "/prweb/PRRestService/oauth2/v1/token/introspect"):
        responses = ops[("post", path)]["responses"]
        assert {"200", "400", "401", "429", "503"} <= set(responses), path
        assert responses["429"]["headers"]["Retry-After"]["required"], path


def test_a_new_case_links_to_reading_and_updating_it(
        http: TestClient, demo: dict[str, Any]) -> None:
    doc = http.get("/openapi.json").json()
    links = doc["paths"]["/prweb/api/v1/cases"]["post"]["responses"]["201"]["links"]
    update = links["UpdateCase"]
    assert update["parameters"] == {"case_id": "$response.body#/ID",
                                    "header.If-Match": "$response.header.ETag"}
    # each link names an operation that exists
    for link in links.values():
        pointer = link["operationRef"].removeprefix("#/paths/")
        path, method = pointer.rsplit("/", 1)
        assert method in doc["paths"][path.replace("~1", "/")], link
