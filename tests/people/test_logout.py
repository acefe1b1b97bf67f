"""Signing out (OpenID Connect RP-Initiated Logout 1.0): a confirmation page, a POST that
ends the session, and a redirect only to an address the client registered exactly."""

from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from people.conftest import MakeApp
from people.flow import (
    LOGOUT_PATH,
    App,
    Person,
    assert_page,
    authorize,
    authorize_query,
    full_flow,
    hidden_fields,
    is_signin_page,
    parse_page,
    pkce,
    post_form,
)

AFTER = "https://app.example.com/signed-out"


@pytest.fixture
def rp(make_app: MakeApp) -> App:
    return make_app(post_logout_redirect_uris=[AFTER])


def signed_in(http: TestClient, app: App) -> bool:
    return not is_signin_page(authorize(http, authorize_query(app, pkce()[1])))


def logout_page(http: TestClient, **params: str) -> httpx.Response:
    return http.get(LOGOUT_PATH + "?" + urlencode(params), follow_redirects=False)


def test_confirmation_page_then_post_signs_out(http: TestClient, rp: App,
                                              person: Person) -> None:
    full_flow(http, rp, person)
    assert signed_in(http, rp)
    page = logout_page(http)
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert signed_in(http, rp)  # the page alone signs nobody out
    response = post_form(http, LOGOUT_PATH, page)
    assert_page(response, 200)
    assert not signed_in(http, rp)


def test_registered_post_logout_redirect_uri(http: TestClient, rp: App,
                                             person: Person) -> None:
    full_flow(http, rp, person)
    page = logout_page(http, post_logout_redirect_uri=AFTER, client_id=rp.client_id,
                       state="bye 1")
    assert page.status_code == 200
    response = post_form(http, LOGOUT_PATH, page)
    assert response.status_code == 303
    assert response.headers["location"] == AFTER + "?" + urlencode({"state": "bye 1"})
    assert not signed_in(http, rp)


def test_id_token_hint_names_the_client(http: TestClient, rp: App, person: Person) -> None:
    id_token = full_flow(http, rp, person, scope="openid").token["id_token"]
    page = logout_page(http, post_logout_redirect_uri=AFTER, id_token_hint=id_token)
    response = post_form(http, LOGOUT_PATH, page)
    assert response.status_code == 303
    assert response.headers["location"] == AFTER


@pytest.mark.parametrize("uri", ["https://evil.example/", AFTER + "/x", AFTER.upper()])
def test_unregistered_post_logout_redirect_uri_is_a_page(http: TestClient, rp: App,
                                                         person: Person, uri: str) -> None:
    full_flow(http, rp, person)
    assert_page(logout_page(http, post_logout_redirect_uri=uri, client_id=rp.client_id), 400)
    good = logout_page(http)
    fields = hidden_fields(good) | {"post_logout_redirect_uri": uri, "client_id": rp.client_id}
    response = http.post(LOGOUT_PATH, data=fields, follow_redirects=False)
    assert_page(response, 400)
    assert signed_in(http, rp)


def test_another_clients_post_logout_uri_is_refused(http: TestClient, rp: App, app: App,
                                                    person: Person) -> None:
    full_flow(http, rp, person)
    page = logout_page(http, post_logout_redirect_uri=AFTER, client_id=app.client_id)
    assert_page(page, 400)


def test_forged_logout_is_refused(http: TestClient, rp: App, person: Person) -> None:
    full_flow(http, rp, person)
    page = logout_page(http)
    assert "csrf" in parse_page(page.text).hidden
    response = http.post(LOGOUT_PATH, data={"csrf": "0" * 64}, follow_redirects=False)
    assert_page(response, 403)
    assert signed_in(http, rp)
