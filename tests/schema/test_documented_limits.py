"""What schemathesis found where /openapi.json and the server disagreed, each fixed in the
product and kept here as a plain test (on both databases)."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from fixtures.factories import bearer, get_token, make_operator, make_registration

DENYLIST = "/prweb/api/oauth2/v1/token/denylist"
REVOKE = "/prweb/PRRestService/oauth2/v1/revoke"


def admin_token(http: TestClient, db: sessionmaker[Session], settings: Settings) -> str:
    operator = make_operator(db, kind="service", group="casegate:Administrators")
    client, secret = make_registration(db, settings, operator=operator)
    return str(get_token(http, client.client_id, secret)["access_token"])


def test_a_deny_list_reason_is_documented_as_long_as_it_may_be(
        http: TestClient, db: sessionmaker[Session], settings: Settings) -> None:
    """The request said up to 200 characters where the deny list takes 64: a 65-character
    reason was schema-valid and refused."""
    reason = http.get("/openapi.json").json()["components"]["schemas"]["Suspicious"][
        "properties"]["reason"]
    assert (reason["minLength"], reason["maxLength"]) == (1, 64)
    admin = admin_token(http, db, settings)
    longest = http.post(DENYLIST, json={"token": "jti-longest", "reason": "r" * 64},
                        headers=bearer(admin))
    assert longest.status_code == 201, longest.text
    too_long = http.post(DENYLIST, json={"token": "jti-too-long", "reason": "r" * 65},
                         headers=bearer(admin))
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["message"].startswith("reason")


def test_an_empty_token_is_documented_as_refused(http: TestClient,
                                                  demo: dict[str, Any]) -> None:
    """`token=` was schema-valid at revocation and introspection, and refused as missing."""
    doc = http.get("/openapi.json").json()
    for path in (REVOKE, REVOKE.replace("revoke", "token/introspect")):
        form = doc["paths"][path]["post"]["requestBody"]["content"][
            "application/x-www-form-urlencoded"]["schema"]
        assert form["properties"]["token"]["minLength"] == 1
        refused = http.post(path, data={"token": ""},
                            auth=(demo["client_id"], demo["client_secret"]))
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_request"
