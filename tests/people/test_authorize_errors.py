"""What the person and the app see when an authorization cannot go on: a page when the app
cannot be trusted with the answer, else a redirect with the error; forms that refuse to be
posted from elsewhere; pages that cannot be framed or cached."""

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from casegate.storage.models import AuthorizationCode, SignInSession
from people.flow import (
    CONSENT_PATH,
    ISSUER,
    SIGNIN_PATH,
    App,
    Person,
    assert_page,
    authorize,
    authorize_query,
    decide,
    hidden_fields,
    is_consent_page,
    is_signin_page,
    pkce,
    redirected_to,
    sign_in,
)


def query(app: App, **params: str | None) -> str:
    return authorize_query(app, pkce()[1], **params)


def codes_issued(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(AuthorizationCode)) or 0)


def consent_page(http: TestClient, app: App, person: Person, **params: str | None
                 ) -> httpx.Response:
    page = sign_in(http, authorize(http, query(app, **params)), person)
    assert is_consent_page(page), page.text
    return page


def test_unknown_client_is_a_page(http: TestClient, app: App) -> None:
    unknown = App("00000000000000000000", "", app.redirect_uri)
    assert_page(authorize(http, query(unknown)), 400)


def test_missing_client_id_is_a_page(http: TestClient, app: App) -> None:
    assert_page(authorize(http, query(app, client_id=None)), 400)


def test_repeated_parameter_is_a_page(http: TestClient, app: App) -> None:
    assert_page(authorize(http, query(app) + "&client_id=" + app.client_id), 400)


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token"])
def test_other_response_types_are_refused(http: TestClient, app: App,
                                          response_type: str) -> None:
    back = redirected_to(authorize(http, query(app, response_type=response_type, state="s1")),
                         app)
    assert back == back | {"error": "unsupported_response_type", "state": "s1", "iss": ISSUER}
    assert "code" not in back and "access_token" not in back


def test_prompt_none_when_not_signed_in_is_login_required(http: TestClient, app: App) -> None:
    back = redirected_to(authorize(http, query(app, prompt="none", state="s2")), app)
    assert back["error"] == "login_required"
    assert back["state"] == "s2"


def test_prompt_none_without_consent_is_consent_required(http: TestClient, app: App,
                                                         person: Person) -> None:
    consent_page(http, app, person)  # signed in now, consent not given
    back = redirected_to(authorize(http, query(app, prompt="none", state="s3")), app)
    assert back["error"] == "consent_required"
    assert back["state"] == "s3"


def test_deny_sends_access_denied(http: TestClient, db: sessionmaker[Session], app: App,
                                  person: Person) -> None:
    page = consent_page(http, app, person, state="s4")
    back = redirected_to(decide(http, page, "deny"), app)
    assert back["error"] == "access_denied"
    assert back["state"] == "s4"
    assert back["iss"] == ISSUER
    assert codes_issued(db) == 0


def test_wrong_password_shows_the_page_again(http: TestClient, app: App,
                                             person: Person) -> None:
    page = authorize(http, query(app))
    response = sign_in(http, page, Person(person.operator_id, "wrong password"))
    assert_page(response, 401)
    assert is_signin_page(authorize(http, query(app)))  # not signed in


class TestCsrf:
    """A refused form: 403 page, nothing issued, no session started."""

    def forged(self, http: TestClient, path: str, page: httpx.Response,
               fields: dict[str, str], headers: dict[str, str] | None = None
               ) -> httpx.Response:
        return http.post(path, data=fields, headers=headers or {}, follow_redirects=False)

    def signin_fields(self, page: httpx.Response, person: Person) -> dict[str, str]:
        return hidden_fields(page) | {"username": person.operator_id,
                                      "password": person.password}

    @pytest.mark.parametrize("csrf", [None, "", "0" * 64])
    def test_signin_without_the_right_field(self, http: TestClient, app: App, person: Person,
                                            csrf: str | None) -> None:
        page = authorize(http, query(app))
        fields = self.signin_fields(page, person)
        if csrf is None:
            del fields["csrf"]
        else:
            fields["csrf"] = csrf
        assert_page(self.forged(http, SIGNIN_PATH, page, fields), 403)
        assert is_signin_page(authorize(http, query(app)))

    def test_signin_without_the_cookie(self, http: TestClient, app: App,
                                       person: Person) -> None:
        page = authorize(http, query(app))
        http.cookies.clear()
        assert_page(self.forged(http, SIGNIN_PATH, page, self.signin_fields(page, person)), 403)
        assert is_signin_page(authorize(http, query(app)))

    def test_signin_from_a_foreign_origin(self, http: TestClient, app: App,
                                          person: Person) -> None:
        page = authorize(http, query(app))
        response = self.forged(http, SIGNIN_PATH, page, self.signin_fields(page, person),
                               {"Origin": "https://evil.example"})
        assert_page(response, 403)
        assert is_signin_page(authorize(http, query(app)))

    def test_signin_from_our_origin_is_fine(self, http: TestClient, app: App,
                                            person: Person) -> None:
        page = authorize(http, query(app))
        response = self.forged(http, SIGNIN_PATH, page, self.signin_fields(page, person),
                               {"Origin": ISSUER})
        assert response.status_code == 303

    @pytest.mark.parametrize("change", ["no field", "wrong field", "no cookie", "origin"])
    def test_consent_forged(self, http: TestClient, db: sessionmaker[Session], app: App,
                            person: Person, change: str) -> None:
        page = consent_page(http, app, person)
        fields = hidden_fields(page) | {"decision": "allow"}
        headers = {}
        if change == "no field":
            del fields["csrf"]
        elif change == "wrong field":
            fields["csrf"] = fields["csrf"][::-1]
        elif change == "no cookie":
            http.cookies.delete("__Host-casegate_csrf")
        else:
            headers["Origin"] = "https://app.example.com"
        assert_page(self.forged(http, CONSENT_PATH, page, fields, headers), 403)
        assert codes_issued(db) == 0


class TestSecurityHeaders:
    def check(self, response: httpx.Response) -> None:
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"

    def test_signin_page(self, http: TestClient, app: App) -> None:
        page = authorize(http, query(app))
        assert is_signin_page(page)
        self.check(page)
        # the form may post here and go back to the app, nowhere else
        csp = page.headers["content-security-policy"]
        assert "form-action 'self' https://app.example.com;" in csp

    def test_consent_page(self, http: TestClient, app: App, person: Person) -> None:
        self.check(consent_page(http, app, person))

    def test_error_page(self, http: TestClient, app: App) -> None:
        self.check(authorize(http, query(app, redirect_uri="https://evil.example/cb")))

    def test_session_cookie_is_host_only_secure_httponly(self, http: TestClient, app: App,
                                                         person: Person) -> None:
        page = authorize(http, query(app))
        response = http.post(SIGNIN_PATH, data=hidden_fields(page) | {
            "username": person.operator_id, "password": person.password},
            follow_redirects=False)
        cookie = next(v for v in response.headers.get_list("set-cookie")
                      if v.startswith("__Host-casegate_session="))
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path=/", "samesite=lax"} <= attributes
        assert not any(a.startswith("domain") for a in attributes)


def test_signin_posted_with_origin_null_is_accepted(http: TestClient, app: App,
                                                    person: Person) -> None:
    # a browser posts our forms with `Origin: null` under Referrer-Policy: no-referrer
    page = authorize(http, query(app))
    response = http.post(SIGNIN_PATH, data=hidden_fields(page) | {
        "username": person.operator_id, "password": person.password},
        headers={"Origin": "null"}, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize(("name", "error"), [("request", "request_not_supported"),
                                             ("request_uri", "request_uri_not_supported")])
def test_request_objects_are_refused(http: TestClient, app: App, name: str,
                                     error: str) -> None:
    back = redirected_to(authorize(http, query(app, **{name: "eyJhbGciOiJub25lIn0.e30."},
                                               state="s5")), app)
    assert back["error"] == error
    assert back["state"] == "s5"


def test_prompt_login_asks_a_signed_in_person_again(http: TestClient, app: App,
                                                    person: Person) -> None:
    consent_page(http, app, person)  # signed in
    assert not is_signin_page(authorize(http, query(app)))
    again = authorize(http, query(app, prompt="login"))
    assert is_signin_page(again)
    # signing in again satisfies prompt=login: no loop back to the sign-in page
    assert is_consent_page(sign_in(http, again, person))


def test_max_age_older_than_the_sign_in_asks_again(http: TestClient, db: sessionmaker[Session],
                                                   app: App, person: Person) -> None:
    consent_page(http, app, person)
    assert is_consent_page(authorize(http, query(app, max_age="600")))
    with db() as session, session.begin():  # the sign-in happened 20 minutes ago
        for row in session.scalars(select(SignInSession)):
            row.auth_time -= 1200
    assert is_signin_page(authorize(http, query(app, max_age="600")))
    assert is_consent_page(authorize(http, query(app)))  # no max_age: the session still holds
