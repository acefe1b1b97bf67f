"""Bad input never gets a 500 or a stack trace, and loses nothing.

OAuth endpoints answer RFC 6749 §5.2 JSON errors; the Pega API answers its envelope
{"pxObjClass":"Pega-API","errors":[{"ID":…,"message":…}]} (DESIGN "Public contract").
"""

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.models import AuditEvent, Case
from fixtures.factories import (
    CASES_PATH,
    INTROSPECT_PATH,
    REVOKE_PATH,
    SEED_BODY,
    TOKEN_PATH,
    bearer,
    get_token,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
OVER_LIMIT = 70000  # settings.max_body_bytes defaults to 65536
CASE_TYPE = SEED_BODY["caseTypeID"]
# RFC 6749 §5.2 error codes, and RFC 7009 §2.2.1's unsupported_token_type
# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E
DESCRIPTION_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
OAUTH_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                "unsupported_grant_type", "invalid_scope", "unsupported_token_type"}


def safe_json(response: httpx.Response, status: int, what: str) -> Any:
    """The status asked for, a JSON body, and nothing of the server's insides."""
    assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"].split(";")[0] == "application/json", what
    assert "Traceback" not in response.text and 'File "' not in response.text, what
    return response.json()


def oauth_error(response: httpx.Response, status: int, error: str, what: str) -> None:
    body = safe_json(response, status, what)
    assert body["error"] == error, f"{what}: {body}"
    assert isinstance(body.get("error_description", ""), str), what
    assert response.headers["cache-control"] == "no-store", what


def pega_error(response: httpx.Response, status: int, what: str) -> str:
    """The Pega envelope with exactly one error; returns its message."""
    body = safe_json(response, status, what)
    assert body["pxObjClass"] == "Pega-API", f"{what}: {body}"
    [error] = body["errors"]
    assert set(error) == {"ID", "message"}, f"{what}: {body}"
    assert error["ID"].startswith("Pega_API_"), f"{what}: {body}"
    message: str = error["message"]
    return message


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# -- the token endpoint --------------------------------------------------------------------


def bad_token_requests(auth: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Requests a careless or hostile client sends, with the demo client's real credentials."""
    grant = b"grant_type=client_credentials"
    return [
        ("non-UTF-8 body", {"content": b"grant_type=client_credentials&scope=\xff\xfe\x80",
                            "headers": FORM | auth}),
        ("a body that is not a form", {"content": b"{not a form at all",
                                       "headers": FORM | auth}),
        ("JSON body", {"content": b'{"grant_type": "client_credentials"}',
                       "headers": JSON | auth}),
        ("multipart body", {"files": {"grant_type": (None, "client_credentials")},
                            "headers": auth}),
        ("no content type", {"content": grant, "headers": auth}),
        ("200 fields", {"content": "&".join(f"f{i}=v" for i in range(200)).encode(),
                        "headers": FORM | auth}),
        ("repeated grant_type", {"content": grant + b"&" + grant, "headers": FORM | auth}),
        ("NUL in a parameter", {"content": grant + b"&scope=a%00b", "headers": FORM | auth}),
    ]


def test_bad_token_requests_answer_400_invalid_request(http: TestClient,
                                                       demo: dict[str, Any]) -> None:
    auth = basic(demo["client_id"], demo["client_secret"])
    for what, request in bad_token_requests(auth):
        oauth_error(http.post(TOKEN_PATH, **request), 400, "invalid_request", what)
    # and the endpoint still works for a well-formed request
    assert get_token(http, demo["client_id"], demo["client_secret"])["token_type"] == "Bearer"


def test_a_body_over_the_limit_answers_413(http: TestClient, demo: dict[str, Any]) -> None:
    body = b"grant_type=client_credentials&scope=" + b"a" * OVER_LIMIT
    for path in (TOKEN_PATH, REVOKE_PATH, INTROSPECT_PATH):
        response = http.post(path, content=body,
                             headers=FORM | basic(demo["client_id"], demo["client_secret"]))
        assert isinstance(safe_json(response, 413, path)["error"], str)


def test_a_chunked_body_over_the_limit_answers_413(http: TestClient,
                                                   demo: dict[str, Any]) -> None:
    """No Content-Length to trust: the limit holds while the body is read."""
    def chunks() -> Iterator[bytes]:
        yield b"grant_type=client_credentials&scope="
        for _ in range(OVER_LIMIT // 1000):
            yield b"a" * 1000

    response = http.post(TOKEN_PATH, content=chunks(),
                         headers=FORM | basic(demo["client_id"], demo["client_secret"]))
    assert "content-length" not in response.request.headers
    safe_json(response, 413, "chunked")


def test_other_methods_on_the_token_endpoint_answer_405(http: TestClient) -> None:
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = http.request(method, TOKEN_PATH)
        assert isinstance(safe_json(response, 405, method)["error"], str)
        # RFC 9110 §15.5.6: a 405 MUST name the allowed methods (OPTIONS is answered too)
        assert sorted(m.strip() for m in response.headers["allow"].split(",")) == [
            "OPTIONS", "POST"]


def test_odd_characters_in_a_scope_answer_invalid_scope(http: TestClient,
                                                        demo: dict[str, Any]) -> None:
    """RFC 6749 §5.2 limits error_description to %x20-21/%x23-5B/%x5D-7E; an unknown scope
    with other characters is still a plain invalid_scope, never a crash."""
    for scope in ('say "hi"', "caf\u00e9", "back\\slash", "tab\there", "\U0001f600"):
        response = http.post(TOKEN_PATH, auth=(demo["client_id"], demo["client_secret"]),
                             data={"grant_type": "client_credentials", "scope": scope})
        oauth_error(response, 400, "invalid_scope", scope)
        description = response.json().get("error_description", "")
        assert all(c in DESCRIPTION_CHARS for c in description), description


def test_hostile_basic_credentials_answer_invalid_client(http: TestClient) -> None:
    for user in ("%00", "a%00b", "a%0Ab", "\t", "caf\u00e9"):
        response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                             headers=basic(user, "secret"))
        oauth_error(response, 401, "invalid_client", user)


def test_hostile_requests_lose_no_audit_event(http: TestClient, db: sessionmaker[Session],
                                              demo: dict[str, Any]) -> None:
    """Events of hostile requests share a batch with real ones: the real ones must land."""
    http.post(TOKEN_PATH, headers=basic("a%00b", "secret"),
              data={"grant_type": "client_credentials"})
    http.post(TOKEN_PATH, content=b"grant_type=client_credentials&client_id=%00&client_secret=x",
              headers=FORM)
    http.post(TOKEN_PATH, data={"grant_type": "client_credentials", "scope": "caf\u00e9"},
              auth=(demo["client_id"], demo["client_secret"]))
    get_token(http, demo["client_id"], demo["client_secret"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db() as session:
            issued = session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.event == "token.issued", AuditEvent.subject == demo["client_id"]))
        if issued:
            return
        time.sleep(0.1)
    raise AssertionError("the token.issued event never reached the audit log")


# -- the case API ----------------------------------------------------------------------------


def bad_case_requests(token: str) -> list[tuple[str, int, dict[str, Any], str]]:
    """(what, status, request, a word the message must contain)."""
    auth = bearer(token)

    def post(body: Any) -> dict[str, Any]:
        return {"content": json.dumps(body).encode(), "headers": JSON | auth}

    return [
        ("invalid JSON", 400, {"content": b'{"caseTypeID": ', "headers": JSON | auth}, "JSON"),
        ("a JSON array", 400, post([SEED_BODY]), ""),
        ("a JSON string", 400, post("case"), ""),
        ("an empty body", 400, {"content": b"", "headers": JSON | auth}, ""),
        ("non-UTF-8 body", 400, {"content": b'{"caseTypeID": "\xff\xfe"}',
                                 "headers": JSON | auth}, ""),
        ("no caseTypeID", 400, post({"processID": "pyStartCase", "content": {}}), "caseTypeID"),
        ("an unknown field", 400, post(SEED_BODY | {"surpriseField": 1}), "surpriseField"),
        ("content is a list", 400, post(SEED_BODY | {"content": ["FT123"]}), "content"),
        ("content is a string", 400, post(SEED_BODY | {"content": "FT123"}), "content"),
        ("caseTypeID is a number", 400, post(SEED_BODY | {"caseTypeID": 5}), "caseTypeID"),
        ("an unknown case type", 400, post(SEED_BODY | {"caseTypeID": "Nope-Work-Nothing"}),
         ""),
        ("an unknown processID", 400, post(SEED_BODY | {"processID": "pyNoSuchFlow"}), ""),
        ("an unknown parent case", 400, post(SEED_BODY | {"parentCaseID": "NOPE-1"}), ""),
        ("NUL in caseTypeID", 400, post(SEED_BODY | {"caseTypeID": "Cnow\x00"}), ""),
        ("NUL in parentCaseID", 400, post(SEED_BODY | {"parentCaseID": "X\x00"}), ""),
        # RFC 8259 §6 has no NaN or Infinity; RFC 7493 §2.1 forbids unpaired surrogates
        ("NaN in content", 400, {"content": b'{"caseTypeID": "%s", "content": {"a": NaN}}'
                                 % CASE_TYPE.encode(), "headers": JSON | auth}, "content"),
        ("Infinity in content", 400, {"content": b'{"caseTypeID": "%s", "content": {"a": 1e999}}'
                                      % CASE_TYPE.encode(), "headers": JSON | auth}, "content"),
        ("an unpaired surrogate in content", 400,
         {"content": b'{"caseTypeID": "%s", "content": {"a": "\\ud800"}}' % CASE_TYPE.encode(),
          "headers": JSON | auth}, "content"),
        ("a body over the limit", 413, {"content": b" " * OVER_LIMIT, "headers": JSON | auth},
         ""),
    ]


def test_bad_case_requests_answer_pega_errors_and_lose_nothing(
        http: TestClient, db: sessionmaker[Session], demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token))
    assert created.status_code == 201, created.text
    case_path = f"{CASES_PATH}/{quote(created.json()['ID'])}"
    before = http.get(case_path, headers=bearer(token)).json()

    for what, status, request, word in bad_case_requests(token):
        message = pega_error(http.post(CASES_PATH, **request), status, what)
        assert word in message, f"{what}: {message!r} should name {word}"
    pega_error(http.get(f"{CASES_PATH}/{quote('CNOW-CONNECTNOW-WORK REQ-999999')}",
                        headers=bearer(token)), 404, "an unknown case")
    # refused at the edge, before any query (tests/web/test_control_characters.py)
    pega_error(http.get(f"{CASES_PATH}/REQ-1%00", headers=bearer(token)), 400,
               "NUL in a case ID")
    pega_error(http.get("/prweb/api/v1/nothing-here", headers=bearer(token)), 404,
               "an unknown path")
    wrong = http.delete(CASES_PATH, headers=bearer(token))
    pega_error(wrong, 405, "DELETE /cases")
    assert "POST" in [m.strip() for m in wrong.headers["allow"].split(",")]

    # nothing was created by the bad requests, nothing was changed
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    after = http.get(case_path, headers=bearer(token))
    assert after.status_code == 200
    assert after.json() == before
    assert after.json()["content"] == SEED_BODY["content"]


def test_json_that_is_unusual_but_valid_is_kept_exactly(http: TestClient,
                                                        demo: dict[str, Any]) -> None:
    """The other side of the line: valid JSON (RFC 8259) round-trips unchanged."""
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    content = {"nul": "x\x00y", "emoji": "\U0001f686", "quote": 'say "hi"', "big": 2 ** 70,
               "nested": {"list": [1, 2.5, None, True, {"deep": []}]}, "": "empty key"}
    created = http.post(CASES_PATH, json=SEED_BODY | {"content": content},
                        headers=bearer(token))
    assert created.status_code == 201, created.text
    shown = http.get(f"{CASES_PATH}/{quote(created.json()['ID'])}", headers=bearer(token))
    assert shown.status_code == 200, shown.text
    assert shown.json()["content"] == content


# -- health, metrics, headers ----------------------------------------------------------------


def test_health_readiness_and_metrics(http: TestClient) -> None:
    assert safe_json(http.get("/healthz"), 200, "healthz") == {"status": "ok"}
    assert safe_json(http.get("/readyz"), 200, "readyz") == {"status": "ready"}
    loopback = TestClient(http.app, base_url=http.base_url, client=("127.0.0.1", 4000))
    metrics = loopback.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "casegate_http_requests_total" in metrics.text


def test_api_answers_carry_the_security_headers(http: TestClient, demo: dict[str, Any]) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    answers = [http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)),
               http.post(CASES_PATH, content=b"{", headers=JSON | bearer(token)),
               http.post(CASES_PATH, content=b" " * OVER_LIMIT, headers=JSON | bearer(token)),
               http.post(TOKEN_PATH, data={"grant_type": "client_credentials"})]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["strict-transport-security"].startswith("max-age=")


# -- fuzzing the token endpoint ---------------------------------------------------------------

NAMES = st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "token",
                         "assertion", "refresh_token", "code", "redirect_uri", "username"])
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
FORMS = st.dictionaries(st.one_of(NAMES, TEXT), TEXT, max_size=6)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@hypothesis_settings(max_examples=100, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=FORMS, raw=st.one_of(st.none(), st.binary(max_size=200)),
       use_demo=st.booleans(), grant=st.sampled_from(["client_credentials", None]))
def test_fuzzed_token_requests_never_get_a_500(http: TestClient, demo: dict[str, Any],
                                               form: dict[str, str], raw: bytes | None,
                                               use_demo: bool, grant: str | None) -> None:
    if grant is not None:
        form = form | {"grant_type": grant}
    if raw is not None:
        body = raw
    else:
        body = str(httpx.QueryParams(form)).encode()
    auth = basic(demo["client_id"], demo["client_secret"]) if use_demo else {}
    response = http.post(TOKEN_PATH, content=body, headers=FORM | auth)
    # 429: SECURITY Decision 8 throttles repeated failed client authentication
    assert response.status_code in (200, 400, 401, 413, 429), response.text
    parsed = safe_json(response, response.status_code, repr(body))
    if response.status_code != 200:
        assert parsed["error"] in OAUTH_ERRORS, parsed
