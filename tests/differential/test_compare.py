"""The comparer of the differential test reports what differs, and only that."""

from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from differential.compare import answer, audit_key, differences, normalize

BASE = "https://127.0.0.1:4001"
OTHER = "https://127.0.0.1:4002"
KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"})


def token(base: str, jti: str, **claims: Any) -> str:
    full = {"iss": base, "sub": "svc@casegate", "aud": base + "/prweb/api", "iat": 1,
            "exp": 3601, "jti": jti, "client_id": "c1", "scope": "cases"} | claims
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}, full, KEY)


def token_answer(base: str, jti: str, refresh: str, request_id: str, **claims: Any
                 ) -> dict[str, Any]:
    response = httpx.Response(200, json={"access_token": token(base, jti, **claims),
                                         "refresh_token": refresh, "token_type": "Bearer"},
                              headers={"Date": "Sun, 29 Nov 2026 17:00:00 GMT",
                                       "X-Request-ID": request_id, "Cache-Control": "no-store"})
    return answer(response, base)


def test_the_same_answer_from_two_servers_has_no_difference() -> None:
    a = token_answer(BASE, "jti-a-AAAAAAAAAAAAAAAAAAAAAA", "RefreshAAAAAAAAAAAAAAAAAAAAAAAAAAA", "r1")
    b = token_answer(OTHER, "jti-b-BBBBBBBBBBBBBBBBBBBBBB", "RefreshBBBBBBBBBBBBBBBBBBBBBBBBBBB", "r2",
                     iat=7, exp=3607)
    assert differences([("token", a)], [("token", b)]) == []


def test_a_changed_claim_is_a_difference() -> None:
    a = token_answer(BASE, "j1", "RefreshAAAAAAAAAAAAAAAAAAAAAAAAAAA", "r1")
    b = token_answer(OTHER, "j2", "RefreshBBBBBBBBBBBBBBBBBBBBBBBBBBB", "r2",
                     scope="cases casetypes")
    assert differences([("token", a)], [("token", b)]) == [
        "token.body.access_token.claims.scope: 'cases' != 'cases casetypes'"]


def test_a_missing_claim_a_status_and_a_header_are_differences() -> None:
    a = token_answer(BASE, "j1", "RefreshAAAAAAAAAAAAAAAAAAAAAAAAAAA", "r1")
    b = token_answer(OTHER, "j2", "RefreshBBBBBBBBBBBBBBBBBBBBBBBBBBB", "r2", client_id=None)
    b["status"] = 201
    b["headers"] = [h for h in b["headers"] if h[0] != "cache-control"]
    found = differences([("token", a)], [("token", b)])
    assert "token.status: 200 != 201" in found
    assert any(line.startswith("token.body.access_token.claims.client_id") for line in found)
    assert any(line.startswith("token.headers") for line in found)


def test_a_generated_value_must_stand_for_the_same_value_everywhere() -> None:
    one_a, one_b = "FamilyAAAAAAAAAAAAAAAAAAAA", "FamilyBBBBBBBBBBBBBBBBBBBB"
    two_b = "FamilyCCCCCCCCCCCCCCCCCCCC"
    same = differences([("x", [one_a, one_a])], [("x", [one_b, one_b])])
    swapped = differences([("x", [one_a, one_a])], [("x", [one_b, two_b])])
    assert same == []
    assert swapped == [f"x[1]: '{one_a}' != '{two_b}'"]


def test_names_are_never_taken_for_generated_values() -> None:
    found = differences([("x", {"grant_type": "client_credentials_grant"})],
                        [("x", {"grant_type": "authorization_code_grant"})])
    assert len(found) == 1


def test_audit_rows_sort_by_what_is_not_random() -> None:
    rows = [{"event": "token.issued", "subject": "FamilyZZZZZZZZZZZZZZZZZZZZ"},
            {"event": "case.created", "subject": "FamilyAAAAAAAAAAAAAAAAAAAA"}]
    assert [r["event"] for r in sorted(rows, key=audit_key)] == ["case.created", "token.issued"]
    assert normalize({"at": 1.5, "event": "e", "where": BASE + "/x"}, BASE) == {
        "event": "e", "where": "<base>/x"}
