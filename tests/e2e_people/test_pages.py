"""The sign-in, consent and sign-out pages as a person meets them in Chromium."""

import secrets
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import BrowserContext, Response, expect

from e2e_people.flow import (
    Person,
    authorization,
    code_flow,
    consent_through,
    open_sign_in,
    query_of,
    register_client,
    sign_in,
    stock_client,
)
from e2e_people.loopback import Loopback
from fixtures.served import Served


def test_a_wrong_password_shows_the_error_and_stays_on_the_sign_in_page(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    opened = open_sign_in(served, loopback.url, discovery, context)
    page, auth = opened.page, opened.auth
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        sign_in(page, person, password="not-" + person.password)
    assert posted.value.status == 401
    expect(page.get_by_role("alert")).to_contain_text("password is wrong")
    expect(page).to_have_title("Sign in · casegate")
    expect(page.get_by_label("Operator ID")).to_have_value(person.id)
    expect(page.get_by_label("Password")).to_be_empty()
    assert not any(seen.startswith("/callback") and auth.state in seen for seen in loopback.seen)

    # the page goes on from there: the right password leads to the consent page
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Allow")).to_be_visible()


def test_consent_names_the_client_and_the_scopes_and_deny_goes_back_with_access_denied(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    opened = open_sign_in(served, loopback.url, discovery, context,
                          scope="openid profile cases casetypes")
    page, auth, callback = opened.page, opened.auth, opened.callback
    sign_in(page, person)

    expect(page.get_by_role("heading")).to_have_text("Allow access?")
    expect(page.locator("main")).to_contain_text(opened.registration["name"])
    expect(page.locator("main")).to_contain_text(person.id)
    shown = page.locator("#scopes li code").all_inner_texts()
    assert sorted(shown) == ["cases", "casetypes", "openid", "profile"]

    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(callback + "?**")
    returned = query_of(page.url)
    assert returned["error"] == "access_denied"
    assert returned["state"] == auth.state
    assert returned["iss"] == discovery["issuer"]
    assert "code" not in returned


def test_a_second_authorization_after_consent_goes_straight_back(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    callback = loopback.url + "/callback"
    registration = register_client(served, redirect_uri=callback)
    page = context.new_page()
    with stock_client(served, registration, callback) as client:
        first = authorization(client, discovery["authorization_endpoint"])
        consent_through(page, first, person, callback)

        again = authorization(client, discovery["authorization_endpoint"])
        answers: list[Response] = []
        page.on("response", lambda answer: answers.append(answer))
        page.goto(again.url)
        page.wait_for_url(callback + "?**")
        came_back = page.url
        # one redirect from the authorization endpoint: no sign-in, no consent page between
        from_casegate = [(a.status, a.url.split("?")[0]) for a in answers
                         if a.url.startswith(served.url)]
        assert from_casegate == [(302, discovery["authorization_endpoint"])]
        assert query_of(came_back)["state"] == again.state

        token = client.fetch_token(discovery["token_endpoint"], authorization_response=came_back,
                                   state=again.state, code_verifier=again.code_verifier)
        assert client.get(discovery["userinfo_endpoint"]).json()["sub"] == person.id
        assert token["refresh_token"]


def test_sign_out_returns_with_state_and_the_next_authorization_asks_to_sign_in(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    callback, signed_out = loopback.url + "/callback", loopback.url + "/signed-out"
    registration = register_client(served, redirect_uri=callback,
                                   post_logout_redirect_uri=signed_out)
    page = context.new_page()
    with stock_client(served, registration, callback) as client:
        token = code_flow(client, page, person, discovery, callback)

        # OpenID Connect RP-Initiated Logout 1.0 §2, as a relying party sends it
        state = secrets.token_urlsafe(16)
        page.goto(discovery["end_session_endpoint"] + "?" + urlencode({
            "id_token_hint": token["id_token"], "post_logout_redirect_uri": signed_out,
            "state": state}))
        expect(page.locator("main")).to_contain_text(person.id)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(signed_out + "?**")
        assert query_of(page.url) == {"state": state}

        after = authorization(client, discovery["authorization_endpoint"])
    page.goto(after.url)
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page).to_have_title("Sign in · casegate")
