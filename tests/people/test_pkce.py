"""PKCE (RFC 7636) as the app sees it: S256 required of every code client, `plain` only for a
client configured for it, and a verifier that must match (RFC 9700 §2.1.1, §4.8.2)."""

import hashlib
import secrets

import pytest
from fastapi.testclient import TestClient

from people.conftest import HttpWith, MakeApp
from people.flow import (
    ISSUER,
    App,
    Person,
    assert_oauth_error,
    authorize,
    authorize_query,
    b64url,
    code_for,
    code_params,
    exchange,
    pkce,
    redirected_to,
)


@pytest.fixture(params=["public", "confidential"])
def any_app(request: pytest.FixtureRequest, make_app: MakeApp) -> App:
    return make_app(public=request.param == "public")


def refused_at_authorize(http: TestClient, app: App, query: str, error: str) -> None:
    """Sent back to the app at once (no page), with the error, the state and iss."""
    response = authorize(http, query)
    back = redirected_to(response, app)
    assert back["error"] == error, back
    assert back["iss"] == ISSUER
    assert "code" not in back
    sent_state = dict(p.split("=", 1) for p in query.split("&"))["state"]
    assert back["state"] == sent_state


def test_missing_challenge_is_refused(http: TestClient, any_app: App) -> None:
    refused_at_authorize(http, any_app, authorize_query(any_app, None), "invalid_request")


def test_plain_is_refused_by_default(http: TestClient, any_app: App) -> None:
    verifier = secrets.token_urlsafe(48)
    refused_at_authorize(http, any_app, authorize_query(any_app, verifier, "plain"),
                         "invalid_request")


def test_missing_method_means_plain_and_is_refused(http: TestClient, any_app: App) -> None:
    _, challenge = pkce()
    refused_at_authorize(http, any_app, authorize_query(any_app, challenge, None),
                         "invalid_request")


def test_unknown_method_is_refused(http: TestClient, app: App) -> None:
    _, challenge = pkce()
    refused_at_authorize(http, app, authorize_query(app, challenge, "S512"), "invalid_request")


def test_malformed_challenge_is_refused(http: TestClient, app: App) -> None:
    refused_at_authorize(http, app, authorize_query(app, "short"), "invalid_request")


class TestPlainAllowed:
    @pytest.fixture
    def plain_app(self, make_app: MakeApp) -> App:
        return make_app(allow_plain_pkce=True)

    def test_plain_works(self, http: TestClient, plain_app: App, person: Person) -> None:
        verifier = secrets.token_urlsafe(48)
        back = code_params(http, plain_app, person,
                           authorize_query(plain_app, verifier, "plain"))
        assert exchange(http, plain_app, back["code"], verifier).status_code == 200

    def test_missing_method_is_plain(self, http: TestClient, plain_app: App,
                                     person: Person) -> None:
        verifier, s256_challenge = pkce()
        # the S256 challenge sent without a method is taken as a plain one: only the
        # challenge itself, not the verifier it was hashed from, redeems the code
        back = code_params(http, plain_app, person,
                           authorize_query(plain_app, s256_challenge, None))
        assert_oauth_error(exchange(http, plain_app, back["code"], verifier), "invalid_grant")
        back = code_params(http, plain_app, person,
                           authorize_query(plain_app, s256_challenge, None))
        assert exchange(http, plain_app, back["code"], s256_challenge).status_code == 200

    def test_s256_still_works(self, http: TestClient, plain_app: App, person: Person) -> None:
        code, verifier, _ = code_for(http, plain_app, person)
        assert exchange(http, plain_app, code, verifier).status_code == 200


def test_wrong_verifier_is_invalid_grant(http: TestClient, any_app: App,
                                         person: Person) -> None:
    code, _, _ = code_for(http, any_app, person)
    other, _ = pkce()
    assert_oauth_error(exchange(http, any_app, code, other), "invalid_grant")


def test_missing_verifier_is_invalid_grant(http: TestClient, any_app: App,
                                           person: Person) -> None:
    code, _, _ = code_for(http, any_app, person)
    assert_oauth_error(exchange(http, any_app, code, None), "invalid_grant")


def test_malformed_verifier_is_invalid_grant(http: TestClient, app: App,
                                             person: Person) -> None:
    # a challenge made from a too-short verifier: the hash matches, the verifier's form not
    short = "abc"
    challenge = b64url(hashlib.sha256(short.encode()).digest())
    back = code_params(http, app, person, authorize_query(app, challenge))
    assert_oauth_error(exchange(http, app, back["code"], short), "invalid_grant")


class TestPkceNotRequired:
    """With pkce_required off, a confidential client may go without PKCE; a public one still
    may not, and a verifier sent for a code that had no challenge is a downgrade."""

    def test_verifier_without_challenge_is_a_downgrade(self, http_with: HttpWith, app: App,
                                                       person: Person) -> None:
        http = http_with(pkce_required=False)
        back = code_params(http, app, person, authorize_query(app, None))
        verifier, _ = pkce()
        assert_oauth_error(exchange(http, app, back["code"], verifier), "invalid_grant")

    def test_no_verifier_without_challenge_works(self, http_with: HttpWith, app: App,
                                                 person: Person) -> None:
        http = http_with(pkce_required=False)
        back = code_params(http, app, person, authorize_query(app, None))
        assert exchange(http, app, back["code"], None).status_code == 200

    def test_public_client_still_needs_pkce(self, http_with: HttpWith, public_app: App) -> None:
        http = http_with(pkce_required=False)
        refused_at_authorize(http, public_app, authorize_query(public_app, None),
                             "invalid_request")
